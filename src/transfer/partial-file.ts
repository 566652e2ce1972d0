/**
 * A download in progress, kept between runs: `<key>.part` holds the bytes at their final offsets and `<key>.json`
 * (written atomically) lists the ranges that are on disk. The key is the content hash, so a rerun of the same
 * import (or another import of the same file) reuses them. Bytes are only trusted once the whole file hashes to
 * the hub's hash. One process at a time owns a partial (a lock beside it, taken over once its owner is dead): two
 * imports of the same file run one after the other instead of writing the same bytes and racing to rename them.
 */
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile, copyFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { acquireOwnerLock } from '../util/owner-lock.js';
import { NO_FOLLOW } from '../util/path-policy.js';
import { constants } from 'node:fs';
import { IntervalSet } from './interval-set.js';

const SIDECAR_VERSION = 1;
const SAVE_EVERY_MS = 1000;

interface Sidecar {
  version: number;
  size: number;
  done: [number, number][];
}

export class PartialFile {
  /** Bytes found on disk from an earlier run when the file was opened. */
  readonly resumedBytes: number;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly partPath: string,
    private readonly sidecarPath: string,
    readonly size: number,
    readonly fh: FileHandle,
    readonly done: IntervalSet,
    private readonly unlock: () => Promise<void>,
  ) {
    this.resumedBytes = done.total();
  }

  static async open(dir: string, key: string, size: number, signal?: AbortSignal): Promise<PartialFile> {
    await mkdir(dir, { recursive: true });
    const partPath = path.join(dir, `${key}.part`);
    const sidecarPath = path.join(dir, `${key}.json`);
    const unlock = await lockPartial(partPath, signal);
    try {
      await removeStaleRecordTemps(dir, `${key}.json.`);
      const done = await readSidecar(sidecarPath, partPath, size);
      if (done) return new PartialFile(partPath, sidecarPath, size, await open(partPath, constants.O_RDWR | NO_FOLLOW), done, unlock);
      // No usable record: start over. Ranges are written at their offsets (the file grows sparse as needed; never
      // sized up front, so a listing that declares petabytes costs nothing before the hub is caught lying).
      await rm(sidecarPath, { force: true });
      // O_NOFOLLOW: a link planted in .partial under our name is refused (ELOOP), never written through.
      const fh = await open(partPath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | NO_FOLLOW);
      const fresh = new PartialFile(partPath, sidecarPath, size, fh, new IntervalSet(), unlock);
      await fresh.save();
      return fresh;
    } catch (error) {
      await unlock();
      throw error;
    }
  }

  /** Writes `data` at `position`, then records it as done. */
  async write(data: Buffer, position: number): Promise<void> {
    for (let written = 0; written < data.byteLength; ) {
      const { bytesWritten } = await this.fh.write(data, written, data.byteLength - written, position + written);
      if (bytesWritten <= 0) throw new Error(`short write to ${this.partPath}`);
      written += bytesWritten;
    }
    this.done.add(position, position + data.byteLength);
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save().catch(() => undefined);
    }, SAVE_EVERY_MS);
    this.saveTimer.unref();
  }

  /** Records the done ranges: write to a temp file, then rename over the sidecar (never a torn record). */
  save(): Promise<void> {
    const body: Sidecar = { version: SIDECAR_VERSION, size: this.size, done: this.done.toJSON() };
    const next = this.saving.then(async () => {
      const tmp = `${this.sidecarPath}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(body), { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NO_FOLLOW });
      await rename(tmp, this.sidecarPath);
    });
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Stops, keeping what is on disk resumable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.save().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await this.unlock();
  }

  /** Moves the verified file to `dest` (same file system: a rename) and forgets the record. */
  async complete(dest: string): Promise<void> {
    this.closed = true;
    clearTimeout(this.saveTimer);
    await this.saving;
    await this.fh.close();
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await rename(this.partPath, dest);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(this.partPath, dest);
      await unlink(this.partPath);
    }
    await rm(this.sidecarPath, { force: true });
    await this.unlock();
  }

  /** Deletes the bytes and the record (they proved wrong). */
  async discard(): Promise<void> {
    this.closed = true;
    clearTimeout(this.saveTimer);
    await this.saving;
    await this.fh.close().catch(() => undefined);
    await rm(this.sidecarPath, { force: true });
    await rm(this.partPath, { force: true });
    await this.unlock();
  }
}

/** Takes the partial's lock, waiting while another live import holds it. Returns an idempotent release. */
function lockPartial(partPath: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  return acquireOwnerLock(partPath, { signal });
}

async function readSidecar(sidecarPath: string, partPath: string, size: number): Promise<IntervalSet | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sidecarPath, 'utf8')) as Sidecar;
    if (parsed.version !== SIDECAR_VERSION || parsed.size !== size || !Array.isArray(parsed.done)) return undefined;
    const ok = parsed.done.every(
      (r) => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && 0 <= r[0] && r[0] < r[1] && r[1] <= size,
    );
    if (!ok) return undefined;
    const done = new IntervalSet(parsed.done);
    const lastEnd = parsed.done.reduce((m, r) => Math.max(m, r[1]), 0);
    const onDisk = (await stat(partPath)).size;
    if (onDisk < lastEnd || onDisk > size) return undefined;
    return done;
  } catch {
    return undefined;
  }
}


/**
 * A record temp file left by an earlier owner killed between its write and its rename. We hold the partial's lock
 * now, so nobody else writes these names; they are ours by name (`<key>.json.<pid>.tmp`), never anyone else's.
 */
async function removeStaleRecordTemps(dir: string, prefix: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length))) await rm(path.join(dir, name), { force: true });
  }
}
