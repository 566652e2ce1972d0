/**
 * An exclusive lock that knows its owner: a small file `<path>.lock` created with O_EXCL holding the owner's pid
 * and host. A lock whose owner process is dead on this host is taken over at once (an import killed with -9
 * does not make the next run wait); a lock from another host is trusted until it is `staleMs` old.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';

export interface OwnerLockOptions {
  signal?: AbortSignal;
  /** How often to look again while another live process holds it. */
  pollMs?: number;
  /** Age after which an unreadable lock, or one from another host, is taken over. */
  staleMs?: number;
}

interface Owner {
  pid: number;
  host: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the lock exists and its owner is gone; false when it is alive, or gone (released: nothing to remove). */
async function abandoned(lockFile: string, staleMs: number): Promise<boolean> {
  const [text, stat] = await Promise.all([fs.readFile(lockFile, 'utf8').catch(() => undefined), fs.stat(lockFile).catch(() => undefined)]);
  // Released meanwhile: there is nothing to take over, and removing "it" now could remove a new owner's lock.
  if (!stat) return false;
  let owner: Owner | undefined;
  try {
    owner = text ? (JSON.parse(text) as Owner) : undefined;
  } catch {
    owner = undefined;
  }
  if (owner && typeof owner.pid === 'number' && owner.host === os.hostname()) return !processAlive(owner.pid);
  return Date.now() - stat.mtimeMs > staleMs;
}

/**
 * Removes an abandoned lock so contenders can race (O_EXCL) to create it again. Two contenders may both have judged
 * it abandoned; if the first removed it and a third process then created a new lock, a plain rm by the second would
 * remove that live owner's lock (two owners, and the loser's files vanish: ENOENT). So the removal happens under a
 * second lock (`<lock>.takeover`, O_EXCL) and only after judging the lock abandoned again while holding it.
 */
async function takeOver(lockFile: string, staleMs: number): Promise<void> {
  const guard = `${lockFile}.takeover`;
  try {
    await fs.writeFile(guard, JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies Owner), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another contender is taking over: let it finish. A guard left by a process killed in these few lines is
    // removed once its owner is dead (or it is old): nobody else removes a guard.
    if (await abandoned(guard, Math.min(staleMs, 5_000))) await fs.rm(guard, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, 5));
    return;
  }
  try {
    if (await abandoned(lockFile, staleMs)) await fs.rm(lockFile, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

/** Waits until the lock is ours; returns an idempotent release. */
export async function acquireOwnerLock(path: string, options: OwnerLockOptions = {}): Promise<() => Promise<void>> {
  const lockFile = `${path}.lock`;
  const body = JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies Owner);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await fs.writeFile(lockFile, body, { flag: 'wx' });
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await fs.rm(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await abandoned(lockFile, options.staleMs ?? 60_000)) {
      await takeOver(lockFile, options.staleMs ?? 60_000);
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
