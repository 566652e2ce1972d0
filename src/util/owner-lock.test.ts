import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acquireOwnerLock } from './owner-lock.js';
import { tempDir } from '../../test/support/temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

it('is exclusive while its owner lives, and is taken over at once when the owner process is dead', async () => {
  const target = path.join(dir, 'file.part');
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  await fs.writeFile(`${target}.lock`, JSON.stringify({ pid: owner.pid, host: os.hostname() }));
  let acquired = false;
  const waiting = acquireOwnerLock(target, { pollMs: 50 }).then((release) => {
    acquired = true;
    return release;
  });
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(acquired).toBe(false);
  owner.kill('SIGKILL');
  const release = await waiting;
  expect(JSON.parse(await fs.readFile(`${target}.lock`, 'utf8')).pid).toBe(process.pid);
  const aborted = new AbortController();
  const second = acquireOwnerLock(target, { signal: aborted.signal, pollMs: 50 });
  aborted.abort(new Error('gave up'));
  await expect(second).rejects.toThrow('gave up');
  await release();
  await release();
  expect(await fs.readdir(dir)).toEqual([]);
});

it('a dead lock taken over by many contenders at once: never two holders, never a live lock removed', async () => {
  const target = path.join(dir, 'blob');
  for (let round = 0; round < 10; round++) {
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => dead.on('exit', resolve));
    await fs.writeFile(`${target}.lock`, JSON.stringify({ pid: dead.pid, host: os.hostname() }));
    let holders = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        const release = await acquireOwnerLock(target, { pollMs: 5 });
        most = Math.max(most, ++holders);
        await new Promise((resolve) => setTimeout(resolve, 2));
        holders--;
        await release();
      }),
    );
    expect(most).toBe(1);
    expect(await fs.readdir(dir)).toEqual([]);
  }
});
