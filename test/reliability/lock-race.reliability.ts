/**
 * Class 6 (races): twenty processes contend for one owner lock whose previous owner was killed (its pid is dead).
 * Each holder creates a marker with O_EXCL while it holds the lock, so two holders at once fail loudly; before the
 * takeover was guarded, a late contender removed the lock a new owner had just created (two owners, and the first
 * one's files vanished under it: ENOENT on a shared .partial).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

const CONTENDERS = 20;
const ROUNDS = 5;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mi-lock-race-'));
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const contender = (lockModule: string, target: string, start: number) => `
  const { acquireOwnerLock } = await import(${JSON.stringify(lockModule)});
  const fs = await import('node:fs/promises');
  while (Date.now() < ${start}) await new Promise((r) => setTimeout(r, 1));
  const release = await acquireOwnerLock(${JSON.stringify(target)}, { pollMs: 5 });
  try {
    await fs.writeFile(${JSON.stringify(`${target}.holder`)}, String(process.pid), { flag: 'wx' });
  } catch (error) {
    console.error('two owners at once: ' + error.code);
    process.exit(3);
  }
  await new Promise((r) => setTimeout(r, 3));
  await fs.rm(${JSON.stringify(`${target}.holder`)});
  await release();
`;

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

it(`${CONTENDERS} processes taking over a dead owner's lock never hold it twice`, async () => {
  const lockModule = pathToFileURL(path.join(REPO_ROOT, 'dist/src/util/owner-lock.js')).href;
  const failures: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const target = path.join(dir, `blob-${round}.part`);
    await fs.writeFile(`${target}.lock`, JSON.stringify({ pid: await deadPid(), host: os.hostname() }));
    const start = Date.now() + 1500; // all spawned and loaded before any of them looks at the lock
    const results = await Promise.all(
      Array.from({ length: CONTENDERS }, () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', contender(lockModule, target, start)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        return new Promise<string | undefined>((resolve) => child.on('close', (code) => resolve(code === 0 ? undefined : `exit ${code}: ${stderr.trim().split('\n')[0]}`)));
      }),
    );
    failures.push(...results.filter((r): r is string => r !== undefined).map((r) => `round ${round}: ${r}`));
    expect(await fs.readdir(dir).then((names) => names.filter((n) => n.startsWith(`blob-${round}`)))).toEqual([]);
  }
  expect(failures).toEqual([]);
});
