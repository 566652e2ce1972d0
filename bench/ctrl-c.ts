/**
 * Ctrl-C during validation: how long from the keypress to the CLI's exit. The terminal sends SIGINT to the whole
 * foreground process group (the CLI and its transformers.js child), so the CLI runs in a group of its own and
 * the group gets the signal. Sent `afterMs` into the validate stage, when onnxruntime is loading or running the
 * graph (its calls block the CLI's event loop: the worst moment).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface CtrlCResult {
  /** Keypress (SIGINT to the group) to the CLI's exit. */
  exitMs: number;
  code: number | null;
  /** Whether a process of the group outlived the CLI by 1 s (an orphaned child). */
  leftovers: boolean;
}

export async function ctrlCDuringValidation(bin: string, repo: string, env: Record<string, string | undefined>, modelsDir: string, afterMs: number): Promise<CtrlCResult> {
  await fs.rm(modelsDir, { recursive: true, force: true });
  const child = spawn(process.execPath, [bin, 'import-model', repo, '--yes', '--json', '--models-dir', modelsDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let sentAt = 0;
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (sentAt || !line.includes('"stage":"validate"') || !line.includes('"status":"start"')) continue;
      sentAt = -1;
      setTimeout(() => {
        sentAt = performance.now();
        process.kill(-child.pid!, 'SIGINT');
      }, afterMs);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const exitMs = performance.now() - sentAt;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const leftovers = (await liveGroupMembers(child.pid!)).length > 0;
  if (leftovers) process.kill(-child.pid!, 'SIGKILL');
  await fs.rm(path.resolve(modelsDir), { recursive: true, force: true });
  if (sentAt <= 0) throw new Error(`the import ended (exit ${code}) before validation started`);
  return { exitMs, code, leftovers };
}

/** Processes of the group still running (zombies waiting for init to reap them are dead, not leftovers). */
async function liveGroupMembers(pgid: number): Promise<number[]> {
  const live: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(name));
  }
  return live;
}
