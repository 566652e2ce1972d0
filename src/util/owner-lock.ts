/**
 * An exclusive lock that knows its owner: a small file `<path>.lock` created with O_EXCL holding the owner's pid
 * and host. A lock whose owner process is dead on this host is taken over at once (an import killed with -9
 * does not make the next run wait); a lock from another host is trusted until it is `staleMs` old.
 */
import { randomBytes } from 'node:crypto';
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
  /** Tells this acquisition's lock from a later one of the same process. */
  nonce?: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's identity: a lock file removed and created again (even on a reused inode) has another ctime. */
type LockId = string;

async function lockId(lockFile: string): Promise<LockId | undefined> {
  const stat = await fs.lstat(lockFile, { bigint: true }).catch(() => undefined);
  return stat ? `${stat.ino}-${stat.ctimeNs}` : undefined;
}

/** The id of the lock if its owner is gone (dead on this host, or unreadable / foreign and older than staleMs). */
async function abandoned(lockFile: string, staleMs: number): Promise<LockId | undefined> {
  const id = await lockId(lockFile);
  if (!id) return undefined;
  const [text, stat] = await Promise.all([fs.readFile(lockFile, 'utf8').catch(() => undefined), fs.lstat(lockFile).catch(() => undefined)]);
  if (!stat || (await lockId(lockFile)) !== id) return undefined; // released or replaced meanwhile: just try again
  let owner: Owner | undefined;
  try {
    owner = text ? (JSON.parse(text) as Owner) : undefined;
  } catch {
    owner = undefined;
  }
  if (owner && typeof owner.pid === 'number' && owner.host === os.hostname()) return processAlive(owner.pid) ? undefined : id;
  return Date.now() - stat.mtimeMs > staleMs ? id : undefined;
}

/**
 * Removes the lock judged abandoned as `id`, and only that one. Contenders that judged the same dead lock queue on
 * a lock of their own named after it (itself an owner lock, so a breaker killed midway is taken over the same way);
 * whoever holds it removes the lock file only if it is still that very file. Without this, two contenders could
 * both see the dead lock, one replace it with its own live lock, and the other delete that live lock.
 */
async function breakLock(lockFile: string, id: LockId, options: OwnerLockOptions): Promise<void> {
  const release = await acquireOwnerLock(`${lockFile}.break-${id}`, options);
  try {
    if ((await abandoned(lockFile, options.staleMs ?? 60_000)) === id) await fs.unlink(lockFile).catch(() => undefined);
  } finally {
    await release();
  }
}

/** Waits until the lock is ours; returns an idempotent release. */
export async function acquireOwnerLock(path: string, options: OwnerLockOptions = {}): Promise<() => Promise<void>> {
  const lockFile = `${path}.lock`;
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), nonce: randomBytes(8).toString('hex') } satisfies Owner);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await fs.writeFile(lockFile, body, { flag: 'wx' });
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // Only our own lock: one taken over (we were judged gone) belongs to its new owner now.
        if ((await fs.readFile(lockFile, 'utf8').catch(() => undefined)) === body) await fs.rm(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const dead = await abandoned(lockFile, options.staleMs ?? 60_000);
    if (dead) {
      await breakLock(lockFile, dead, options);
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
