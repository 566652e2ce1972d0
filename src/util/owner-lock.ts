/**
 * An exclusive lock that knows its owner: a small file `<path>.lock` holding the owner's pid and host. A lock whose
 * owner process is dead on this host is taken over at once (an import killed with -9 does not make the next run
 * wait); a lock from another host, or one nobody can read, is trusted until it is `staleMs` old.
 *
 * The lock file never exists without its owner inside: the body is written to a private file first and link(2)
 * puts it in place, failing with EEXIST while another holds it. Created with O_EXCL and written afterwards, a
 * process killed between the two left an empty lock that made every later run wait `staleMs` (a push killed with
 * -9 right after one blob finished: 7 kills in 40 hit that window).
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
export async function acquireOwnerLock(target: string, options: OwnerLockOptions = {}): Promise<() => Promise<void>> {
  const lockFile = `${target}.lock`;
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), nonce: randomBytes(8).toString('hex') } satisfies Owner);
  for (;;) {
    options.signal?.throwIfAborted();
    if (await createLockFile(lockFile, body)) {
      await sweepBodies(lockFile, options.staleMs ?? 60_000);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // Only our own lock: one taken over (we were judged gone) belongs to its new owner now.
        if ((await fs.readFile(lockFile, 'utf8').catch(() => undefined)) === body) await fs.rm(lockFile, { force: true });
      };
    }
    const dead = await abandoned(lockFile, options.staleMs ?? 60_000);
    if (dead) {
      await breakLock(lockFile, dead, options);
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}

/** This host, in the names of lock bodies: another host's pids say nothing about this one's processes. */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/** `<lock>.<host tag>-<pid>-<nonce>.tmp`: a body on its way into the lock. */
function bodyName(lockFile: string): string {
  return `${lockFile}.${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** Puts `body` in place as the lock file if there is none; false when another holds it. */
async function createLockFile(lockFile: string, body: string): Promise<boolean> {
  const staged = bodyName(lockFile);
  await fs.writeFile(staged, body, { flag: 'wx' });
  try {
    await fs.link(staged, lockFile);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links (some FUSE and SMB mounts): O_EXCL, with its small window, is all there is.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return createInPlace(lockFile, body);
    throw error;
  } finally {
    await fs.unlink(staged).catch(() => undefined);
  }
}

async function createInPlace(lockFile: string, body: string): Promise<boolean> {
  try {
    await fs.writeFile(lockFile, body, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes the bodies of this lock that a killed process left behind (it died between writing its body and
 * removing it): this host's whose pid is dead, another host's once older than staleMs. Run by the holder, so no
 * contender's body in flight is mistaken for one (a live pid's is never touched).
 */
async function sweepBodies(lockFile: string, staleMs: number): Promise<void> {
  const prefix = `${path.basename(lockFile)}.`;
  const names = await fs.readdir(path.dirname(lockFile)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^([0-9a-f]{8})-(\d+)-[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const file = path.join(path.dirname(lockFile), name);
    let gone: boolean;
    if (match[1] === HOST_TAG) gone = !processAlive(Number(match[2]));
    else gone = Date.now() - ((await fs.lstat(file).catch(() => undefined))?.mtimeMs ?? Date.now()) > staleMs;
    if (gone) await fs.unlink(file).catch(() => undefined);
  }
}
