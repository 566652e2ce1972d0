import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acquireOwnerLock } from './owner-lock.js';
import { tempDir } from '../../test/support/temp.js';
import { REPO_ROOT } from '../../test/support/cli.js';

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

it('a holder killed with -9 at any moment leaves no lock the next run waits for, and no body file behind', async () => {
  // Eight lock loops in one child, killed at a random moment, eight times: before locks were put in place with
  // link(2), about one kill in six landed between O_EXCL's create and the write of the owner, and the empty lock
  // it left made the next acquirer wait the full staleMs (a minute).
  const lockModule = pathToFileURL(path.join(REPO_ROOT, 'dist/src/util/owner-lock.js')).href;
  const targets = Array.from({ length: 8 }, (_, i) => path.join(dir, `blob-${i}.part`));
  const loop = `const { acquireOwnerLock } = await import(${JSON.stringify(lockModule)});
    await Promise.all(${JSON.stringify(targets)}.map(async (t) => { for (;;) await (await acquireOwnerLock(t, { pollMs: 1 }))(); }));`;
  for (let kill = 0; kill < 8; kill++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', loop], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 100));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    for (const target of targets) {
      const text = await fs.readFile(`${target}.lock`, 'utf8').catch(() => undefined);
      if (text !== undefined) expect(JSON.parse(text).pid, `kill ${kill}: ${target}.lock`).toBe(child.pid);
      const release = await acquireOwnerLock(target, { staleMs: 60_000, signal: AbortSignal.timeout(5_000) });
      await release();
    }
    expect(await fs.readdir(dir), `kill ${kill}`).toEqual([]);
  }
}, 30_000);
