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

async function abandoned(lockFile: string, staleMs: number): Promise<boolean> {
  const [text, stat] = await Promise.all([fs.readFile(lockFile, 'utf8').catch(() => undefined), fs.stat(lockFile).catch(() => undefined)]);
  if (!stat) return true; // released meanwhile
  let owner: Owner | undefined;
  try {
    owner = text ? (JSON.parse(text) as Owner) : undefined;
  } catch {
    owner = undefined;
  }
  if (owner && typeof owner.pid === 'number' && owner.host === os.hostname()) return !processAlive(owner.pid);
  return Date.now() - stat.mtimeMs > staleMs;
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
      // Take it over by removing it and racing to create it again: O_EXCL lets exactly one contender win.
      await fs.rm(lockFile, { force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
