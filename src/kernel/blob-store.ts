/**
 * The content-addressed store every model in a models folder shares: `<models>/.blobs/sha256/<hex>` holds each
 * verified file once, named by its sha256 (like the Hugging Face cache's blobs/ and Ollama's blobs). Model folders
 * hard-link into it, so two names of one model cost the disk once and a blob whose link count is 1 belongs to no
 * model folder. Partial downloads live beside it (`.blobs/partial`), and `git-sha1/<oid>` records which sha256 a
 * small (non-LFS) file listed only by its git blob id has, so a rerun can find those too.
 *
 * Safety: every path is built from a checked hex name under the store root; the root and its folders must be real
 * folders (lstat, never a symlink); a blob that is not a regular file is ignored, never followed or deleted. The
 * store deletes only its own blob names (gc), its temp files and the partial files it was asked to discard.
 */
import { randomBytes, createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { acquireOwnerLock } from '../util/owner-lock.js';
import { ModelImportError } from './errors.js';

export const BLOBS_DIR = '.blobs';
const SHA256 = /^[0-9a-f]{64}$/;
const GIT_SHA1 = /^[0-9a-f]{40}$/;
/**
 * Blobs we wrote get this mtime. Any write into a blob (through a model folder's link: the same inode) sets its mtime
 * to now, so a blob whose mtime is not this is re-hashed before it is reused, never trusted blindly.
 */
const SEALED_MTIME_S = 946_684_800; // 2000-01-01T00:00:00Z

export type Placement = 'linked' | 'copied';

export interface GcResult {
  removed: string[];
  bytesFreed: number;
}

function checkHex(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new ModelImportError('INTERNAL', `Not a ${what}: ${JSON.stringify(value).slice(0, 80)}.`);
  return value;
}

/** Creates `dir` if needed and insists it is a real folder (a symlink planted there is refused, not followed). */
async function realFolder(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory()) {
    throw new ModelImportError('REGISTRY_CORRUPT', `${dir} is in the way: model-import needs a real folder there (found a ${stat.isSymbolicLink() ? 'symlink' : 'file'}).`, {
      hint: 'Move it aside, then run the command again.',
    });
  }
}

/** sha256 (and, given the expected size, the git blob sha1) of a file opened without following a symlink. */
async function hashNoFollow(file: string, signal?: AbortSignal, gitSize?: number): Promise<{ sha256: string; size: number; gitOid?: string }> {
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    const git = gitSize === undefined ? undefined : createHash('sha1').update(`blob ${gitSize}\0`);
    const buffer = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buffer, 0, buffer.byteLength, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      git?.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: hash.digest('hex'), size, ...(git ? { gitOid: git.digest('hex') } : {}) };
  } finally {
    await fh.close();
  }
}

export class BlobStore {
  /** Said once per store when hard links are impossible and blobs are copied into model folders instead. */
  private copyWarned = false;
  onFirstCopy?: (why: string) => void;

  private constructor(readonly root: string) {}

  /** The store of a models folder; creates its folders. */
  static async open(modelsDir: string): Promise<BlobStore> {
    const store = new BlobStore(path.join(modelsDir, BLOBS_DIR));
    for (const dir of [store.root, store.blobDir, store.partialDir, store.tmpDir, store.gitDir]) await realFolder(dir);
    return store;
  }

  get blobDir(): string {
    return path.join(this.root, 'sha256');
  }
  /** Where resumable partial downloads are kept (keyed by content hash). */
  get partialDir(): string {
    return path.join(this.root, 'partial');
  }
  private get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }
  private get gitDir(): string {
    return path.join(this.root, 'git-sha1');
  }

  blobPath(sha256: string): string {
    return path.join(this.blobDir, checkHex(sha256, SHA256, 'sha256'));
  }

  /** Whether a verified blob with this hash (and size, if given) is in the store. */
  async has(sha256: string, size?: number): Promise<boolean> {
    const stat = await fs.lstat(this.blobPath(sha256)).catch(() => undefined);
    return stat !== undefined && stat.isFile() && (size === undefined || stat.size === size);
  }

  /**
   * Whether the blob may be linked into a new import: sealed and untouched (mtime still the seal), or else hashed
   * now and found right. A blob whose bytes changed is dropped from the store (our name only) and reported false.
   */
  async trusted(sha256: string, size: number, signal?: AbortSignal): Promise<boolean> {
    const file = this.blobPath(sha256);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat?.isFile() || stat.size !== size) return false;
    if (Math.floor(stat.mtimeMs / 1000) === SEALED_MTIME_S) return true;
    const actual = await hashNoFollow(file, signal);
    if (actual.sha256 === sha256 && actual.size === size) return true;
    await fs.unlink(file).catch(() => undefined);
    return false;
  }

  /** Marks a blob we wrote: read-only (edits in place through a model folder fail) and the seal mtime. */
  async seal(sha256: string): Promise<void> {
    const file = this.blobPath(sha256);
    await fs.chmod(file, 0o444);
    await fs.utimes(file, SEALED_MTIME_S, SEALED_MTIME_S);
  }

  /** The sha256 recorded for a file known only by its git blob id, if its blob is still here. */
  async sha256OfGitOid(gitOid: string): Promise<string | undefined> {
    const record = path.join(this.gitDir, checkHex(gitOid, GIT_SHA1, 'git blob id'));
    const stat = await fs.lstat(record).catch(() => undefined);
    if (!stat?.isFile() || stat.size !== 64) return undefined;
    const sha256 = (await fs.readFile(record, 'utf8')).trim();
    return SHA256.test(sha256) && (await this.has(sha256)) ? sha256 : undefined;
  }

  /**
   * Moves a verified file (the caller's, e.g. a completed partial, already hashed to `sha256`) into the store.
   * If the blob is already there the file is dropped: the same bytes need no second copy.
   */
  async commit(file: string, sha256: string, gitOid?: string): Promise<string> {
    const dest = this.blobPath(sha256);
    if (path.resolve(file) === dest) {
      // already in place (a partial completed straight into the store)
    } else if (await this.has(sha256)) {
      await fs.rm(file, { force: true });
    } else {
      await fs.rename(file, dest);
      await this.seal(sha256); // a blob is shared by every model that links it: edits in place must fail
    }
    if (gitOid) await this.rememberGitOid(gitOid, sha256);
    return dest;
  }

  /** Records that the file with git blob id `gitOid` has sha256 `sha256` (small files are listed by git id only). */
  async rememberGitOid(gitOid: string, sha256: string): Promise<void> {
    const record = path.join(this.gitDir, checkHex(gitOid, GIT_SHA1, 'git blob id'));
    const tmp = path.join(this.tmpDir, `git-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(tmp, checkHex(sha256, SHA256, 'sha256'), { flag: 'wx' });
    await fs.rename(tmp, record);
  }

  /**
   * Puts blob `sha256` at `dest` (which must not exist): a hard link, or a copy where links are impossible (another
   * file system, or one without hard links), said once. Returns undefined if the blob is not (or no longer) here.
   */
  async linkInto(sha256: string, dest: string): Promise<Placement | undefined> {
    const from = this.blobPath(sha256);
    const stat = await fs.lstat(from).catch(() => undefined);
    if (!stat?.isFile()) return undefined;
    await fs.mkdir(path.dirname(dest), { recursive: true });
    try {
      await fs.link(from, dest); // link(2) does not follow a symlink at `from`, and the lstat above refused one
      return 'linked';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined; // removed by a gc meanwhile
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
      if (!this.copyWarned) {
        this.copyWarned = true;
        this.onFirstCopy?.(`hard links are impossible here (${code}): files are copied from ${this.root} into model folders, costing the disk twice`);
      }
      await fs.copyFile(from, dest, constants.COPYFILE_EXCL);
      return 'copied';
    }
  }

  /**
   * Brings a file from outside the models folder (the user's Hugging Face cache) into the store, never writing
   * where it came from: hard-linked into the store's temp folder (else copied), hashed there without following
   * links, and kept only if it hashes to `sha256`. Returns whether the blob is now in the store.
   */
  async adopt(external: string, sha256: string, size: number, signal?: AbortSignal): Promise<boolean> {
    if (await this.has(sha256, size)) return true;
    return (await this.adoptChecked(external, size, (h) => h.sha256 === sha256, signal)) !== undefined;
  }

  /**
   * The same for a file known by its git blob id (the HF cache names small, non-LFS files by it): kept if its git
   * sha1 matches; stored under its sha256, which is returned, and the git id recorded.
   */
  async adoptGitBlob(external: string, gitOid: string, size: number, signal?: AbortSignal): Promise<string | undefined> {
    checkHex(gitOid, GIT_SHA1, 'git blob id');
    const known = await this.sha256OfGitOid(gitOid);
    if (known) return known;
    const sha256 = await this.adoptChecked(external, size, (h) => h.gitOid === gitOid, signal);
    if (sha256) await this.rememberGitOid(gitOid, sha256);
    return sha256;
  }

  private async adoptChecked(
    external: string,
    size: number,
    matches: (h: { sha256: string; gitOid?: string }) => boolean,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const outside = await fs.lstat(external).catch(() => undefined);
    // HF cache snapshots are symlinks into blobs/; the caller passes the blob itself, which must be a plain file.
    if (!outside?.isFile() || outside.size !== size) return undefined;
    const tmp = path.join(this.tmpDir, `adopt-${process.pid}-${randomBytes(6).toString('hex')}`);
    let copied = false;
    try {
      try {
        await fs.link(external, tmp);
      } catch {
        await fs.copyFile(external, tmp, constants.COPYFILE_EXCL);
        copied = true;
      }
      const actual = await hashNoFollow(tmp, signal, size);
      if (actual.size !== size || !matches(actual)) return undefined;
      await fs.rename(tmp, this.blobPath(actual.sha256));
      // A hard link shares the HF cache's inode: its mode and times are the cache's, never changed from here (it is
      // then re-hashed whenever it is reused, see trusted()).
      if (copied) await this.seal(actual.sha256);
      return actual.sha256;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Whether some blob has exactly this size (cheap: a stat each), so hashing a file to look for it may pay off. */
  async hasSize(size: number): Promise<boolean> {
    for (const name of await this.blobNames()) {
      const stat = await fs.lstat(path.join(this.blobDir, name)).catch(() => undefined);
      if (stat?.isFile() && stat.size === size) return true;
    }
    return false;
  }

  /**
   * Links blob `sha256` at every `dest` if it is here and may be reused (see trusted()), under its lock so a gc
   * cannot take it in between. False when it is not here (nothing was linked).
   */
  async linkTrusted(sha256: string, size: number, dests: readonly string[], signal?: AbortSignal): Promise<boolean> {
    if (!(await this.has(sha256, size))) return false;
    const release = await this.lock(sha256, signal);
    try {
      if (!(await this.trusted(sha256, size, signal))) return false;
      for (const dest of dests) if (!(await this.linkInto(sha256, dest))) return false;
      return true;
    } finally {
      await release();
    }
  }

  /**
   * Copies a file from outside the models folder into the store while hashing it (one read), then links it at
   * every `dest`; returns its sha256. If that blob is already here the copy is dropped. The outside file is copied,
   * never linked: a later edit of the user's folder must not change a registered model.
   */
  async copyIn(external: string, dests: readonly string[], signal?: AbortSignal, onBytes?: (bytes: number) => void): Promise<string> {
    const tmp = path.join(this.tmpDir, `copy-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          onBytes?.(chunk.length);
          callback(null, chunk);
        },
      });
      await pipeline(createReadStream(external, { highWaterMark: 4 << 20 }), tap, createWriteStream(tmp, { flags: 'wx' }), { signal });
      const sha256 = hash.digest('hex');
      const release = await this.lock(sha256, signal);
      try {
        // A blob of that name altered since it was stored is dropped (trusted()), so this good copy replaces it.
        if (await this.has(sha256)) await this.trusted(sha256, (await fs.lstat(tmp)).size, signal);
        await this.commit(tmp, sha256);
        for (const dest of dests) {
          if (!(await this.linkInto(sha256, dest))) throw new Error(`blob ${sha256} vanished from ${this.blobDir}`);
        }
      } finally {
        await release();
      }
      return sha256;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Hashes every blob once: how many and how many bytes were read, and the names whose bytes no longer match. */
  async verify(signal?: AbortSignal): Promise<{ checked: number; bytes: number; bad: string[] }> {
    const bad: string[] = [];
    let checked = 0;
    let bytes = 0;
    for (const name of await this.blobNames()) {
      const { sha256, size } = await hashNoFollow(path.join(this.blobDir, name), signal);
      checked++;
      bytes += size;
      if (sha256 !== name) bad.push(name);
    }
    return { checked, bytes, bad };
  }

  /**
   * Takes a blob out of the store (its name here only, under its lock): no import links it again. Model folders that
   * link the same inode keep their file.
   */
  async drop(sha256: string): Promise<void> {
    const release = await this.lock(sha256);
    try {
      await fs.unlink(this.blobPath(sha256)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    } finally {
      await release();
    }
  }

  /**
   * Frees blobs no model uses any more: a blob is removed when no model folder links it (link count 1) and no
   * registered model lists it in `keep` (its source files; they matter where files are copied, not linked, and for
   * sources that a dtype conversion rewrote). Each removal holds the blob's lock, so an import linking it waits.
   */
  async gc(keep: ReadonlySet<string>): Promise<GcResult> {
    const removed: string[] = [];
    let bytesFreed = 0;
    for (const name of await this.blobNames()) {
      if (keep.has(name)) continue;
      const file = path.join(this.blobDir, name);
      const release = await acquireOwnerLock(file);
      try {
        const stat = await fs.lstat(file).catch(() => undefined);
        if (!stat?.isFile() || stat.nlink !== 1) continue;
        await fs.unlink(file);
        removed.push(name);
        bytesFreed += stat.size;
      } finally {
        await release();
      }
    }
    await this.gcGitRecords();
    return { removed, bytesFreed };
  }

  /** Takes the lock of one blob (what gc holds while it decides): an importer linking it holds it too. */
  lock(sha256: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    return acquireOwnerLock(this.blobPath(sha256), { signal });
  }

  private async blobNames(): Promise<string[]> {
    const names = await fs.readdir(this.blobDir).catch(() => [] as string[]);
    return names.filter((name) => SHA256.test(name)).sort();
  }

  private async gcGitRecords(): Promise<void> {
    for (const name of await fs.readdir(this.gitDir).catch(() => [] as string[])) {
      if (!GIT_SHA1.test(name)) continue;
      const record = path.join(this.gitDir, name);
      const stat = await fs.lstat(record).catch(() => undefined);
      if (!stat?.isFile()) continue;
      const sha256 = (await fs.readFile(record, 'utf8').catch(() => '')).trim();
      if (!SHA256.test(sha256) || !(await this.has(sha256))) await fs.unlink(record).catch(() => undefined);
    }
  }
}
