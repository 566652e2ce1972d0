/**
 * A child whose main thread never yields (an endless loop, as a backtracking tokenizer regex) still ends when
 * its parent is SIGKILLed: a real parent, a real child, a real SIGKILL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const watchdog = fileURLToPath(new URL('./parent-watchdog.ts', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'watchdog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Running, i.e. neither gone nor a zombie nobody reaped (a sandbox's pid 1 may never reap). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A parent that forks a busy child (with or without the watch), prints the child's pid and waits. */
function parentScript(watch: boolean): string {
  const child = path.join(dir, `child-${watch}.mjs`);
  writeFileSync(child, `${watch ? `const { watchParent } = await import(${JSON.stringify(watchdog)});\nwatchParent(100);\n` : ''}process.send('ready');\nfor (;;) {}\n`);
  return `
    const { fork } = require('node:child_process');
    const c = fork(${JSON.stringify(child)}, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    c.on('message', () => console.log(c.pid));
    setInterval(() => {}, 1000);
  `;
}

async function startFamily(watch: boolean): Promise<{ parent: ReturnType<typeof spawn>; child: number }> {
  const parent = spawn(process.execPath, ['-e', parentScript(watch)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const child = await new Promise<number>((resolve, reject) => {
    parent.stdout!.on('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    parent.on('exit', () => reject(new Error('the parent exited first')));
  });
  return { parent, child };
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe('watchParent', () => {
  it('kills a blocked child once its parent is SIGKILLed', async () => {
    const { parent, child } = await startFamily(true);
    expect(alive(child)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitGone(child, 20_000)).toBe(true);
  }, 30_000);

  it('without it, the blocked child outlives its parent (what the watch is for)', async () => {
    const { parent, child } = await startFamily(false);
    parent.kill('SIGKILL');
    try {
      expect(await waitGone(child, 1500)).toBe(false);
    } finally {
      process.kill(child, 'SIGKILL');
    }
  }, 30_000);
});
