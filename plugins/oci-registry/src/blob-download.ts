/**
 * Fetches one layer blob of a pull into the models folder's blob store, the same store and the same partial files
 * every import uses (a layer's digest is the sha256 the store names blobs by):
 * - already in the store (an earlier hub import or pull of the same file): linked into staging, nothing fetched;
 * - else into `<partialDir>/<hex>.part` under its owner lock: the hub source's PartialFile, so a pull and a hub
 *   download of the same file (or two pulls) never write one partial at once, and either resumes the other's bytes;
 * - a large blob goes as parallel ranged GETs (distribution spec: registries answer Range on blob GETs with 206)
 *   written at their offsets and hashed in order as they land (OrderedHasher); drops resume from the current byte;
 * - the digest is checked before the verified file is renamed into the store and hard-linked into staging. A
 *   mismatch deletes the partial and is refused (HASH_MISMATCH); bytes resumed from an earlier run get one fresh try.
 * A registry that ignores Range (200 to a ranged GET) gets one whole-blob request instead.
 */
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, RetryTracker, TransientError, asTransient, sleep, type BlobStore } from '../../../src/index.js';
import { chunkSizeFor } from '../../source-huggingface/src/download-files.js';
import { OrderedHasher, type Digests } from '../../source-huggingface/src/ordered-hasher.js';
import { PartialFile } from '../../source-huggingface/src/partial-file.js';
import { DEFAULT_RETRY, type RegistryClient } from './registry-client.js';
import { runPool, type Slots } from './run-pool.js';

const WRITE_BATCH = 1 << 20;
/** A batch older than this is written anyway: on a slow link a kill loses at most this long of bytes. */
const BATCH_MS = 250;
/**
 * Blobs up to this size also get their git blob sha1 recorded in the store: the hub lists small (non-LFS) files by
 * that id only, so a hub import after this pull finds them here too. Larger files are LFS, listed by sha256.
 */
const GIT_OID_MAX = 16 << 20;
/** The hub source's default range size (plugins/source-huggingface/src/options.ts DEFAULTS.chunkSize). */
export const DEFAULT_RANGE = 32 << 20;

export interface BlobTarget {
  digest: string;
  size: number;
  /** Where the verified file goes (the staging paths of every file with this content). */
  dests: string[];
}

export interface DownloadOptions {
  blobs?: BlobStore;
  partialDir: string;
  signal: AbortSignal;
  /** The pull's shared connections. */
  slots: Slots;
  /** Connections one blob may use, for the range size (chunkSizeFor). */
  connections: number;
  /** Largest range of one request. */
  rangeSize?: number;
  onProgress?: (bytes: number) => void;
  /** Bytes an earlier run left in the partial (counted done, not as speed). */
  onResume?: (bytes: number) => void;
  onWarn?: (message: string) => void;
}

export interface DownloadResult {
  /** Bytes that came over the network in this run. */
  downloaded: number;
  how: 'store' | 'downloaded' | 'resumed';
}

/** The registry answered a ranged GET with the whole blob (200): it does not do ranges. */
class RangesIgnored extends Error {}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new ModelImportError('BAD_INPUT', `A layer digest is not sha256: ${JSON.stringify(digest).slice(0, 80)}.`, { hint: 'The artifact is malformed.' });
  return m[1];
}

export async function downloadBlob(client: RegistryClient, target: BlobTarget, options: DownloadOptions): Promise<DownloadResult> {
  const hex = hexOf(target.digest);
  const { blobs } = options;
  if (blobs && (await linkFromStore(blobs, hex, target, options.signal))) return { downloaded: 0, how: 'store' };
  for (let fresh = false; ; fresh = true) {
    const partial = await PartialFile.open(options.partialDir, hex, target.size, options.signal);
    // The name an earlier version of this plugin kept partials under: ours, and superseded by the one above.
    await rm(path.join(options.partialDir, `oci-${hex}.part`), { force: true });
    if (blobs && (await blobs.trusted(hex, target.size, options.signal))) {
      // Another import finished this blob while we waited for the partial's lock.
      await partial.discard();
      if (await linkFromStore(blobs, hex, target, options.signal)) return { downloaded: 0, how: 'store' };
      continue;
    }
    const hasher = new OrderedHasher(partial.fh, target.size, partial.done, target.size <= GIT_OID_MAX, options.signal);
    hasher.kick(); // resumed bytes are re-hashed from disk while the rest downloads
    if (partial.resumedBytes) options.onResume?.(partial.resumedBytes);
    let downloaded: number;
    let digests: Digests;
    try {
      downloaded = await fillGaps(client, target, partial, hasher, options);
      digests = await hasher.finish();
    } catch (error) {
      await hasher.settle().catch(() => undefined);
      await partial.close(); // what arrived is kept and recorded: a rerun resumes it
      throw error;
    }
    if (digests.sha256 !== hex) {
      await partial.discard();
      if (partial.resumedBytes > 0 && !fresh) {
        options.onWarn?.(`blob ${target.digest.slice(0, 19)}: the resumed download did not verify; downloading it again.`);
        continue;
      }
      throw new ModelImportError('HASH_MISMATCH', `blob ${target.digest.slice(0, 19)} does not match its digest (got sha256:${digests.sha256.slice(0, 12)}…); nothing was registered.`, {
        hint: 'The registry serves corrupted or substituted bytes: report it to its operator.',
      });
    }
    await place(blobs, partial, hex, digests, target, options.signal);
    return { downloaded, how: partial.resumedBytes > 0 ? 'resumed' : 'downloaded' };
  }
}

/** Links a blob the store already holds (and trusts) into every destination; false if it is not there. */
async function linkFromStore(blobs: BlobStore, hex: string, target: BlobTarget, signal: AbortSignal): Promise<boolean> {
  if (!(await blobs.has(hex, target.size)) || !(await blobs.trusted(hex, target.size, signal))) return false;
  const release = await blobs.lock(hex, signal); // a gc in another process must not remove it meanwhile
  try {
    for (const dest of target.dests) {
      await rm(dest, { force: true });
      if (!(await blobs.linkInto(hex, dest))) return false;
    }
  } finally {
    await release();
  }
  return true;
}

/**
 * The verified partial into the store (a rename, before the partial's lock is released, so a waiting import finds
 * it), then linked into staging, all under the blob's lock so a gc never sees it unlinked in between.
 */
async function place(blobs: BlobStore | undefined, partial: PartialFile, hex: string, digests: Digests, target: BlobTarget, signal: AbortSignal): Promise<void> {
  if (!blobs) {
    await partial.complete(target.dests[0]);
    for (const dest of target.dests.slice(1)) await copyFile(target.dests[0], dest);
    return;
  }
  const release = await blobs.lock(hex, signal);
  try {
    if (await blobs.trusted(hex, target.size, signal)) await partial.discard();
    else {
      await partial.complete(blobs.blobPath(hex));
      await blobs.seal(hex);
    }
    if (digests.gitSha1) await blobs.rememberGitOid(digests.gitSha1, hex);
    for (const dest of target.dests) {
      await rm(dest, { force: true });
      if (!(await blobs.linkInto(hex, dest))) throw new Error(`blob ${hex} vanished from ${blobs.blobDir}`);
    }
  } finally {
    await release();
  }
}

/** Fetches the partial's gaps, cut into ranges, over the shared connections. Returns the bytes received. */
async function fillGaps(client: RegistryClient, target: BlobTarget, partial: PartialFile, hasher: OrderedHasher, options: DownloadOptions): Promise<number> {
  const chunk = chunkSizeFor(target.size, options.rangeSize ?? DEFAULT_RANGE, options.connections);
  const ranges: [number, number][] = [];
  for (const [start, end] of partial.done.missing(target.size)) {
    for (let at = start; at < end; at += chunk) ranges.push([at, Math.min(end, at + chunk)]);
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const io = { client, target, partial, hasher, options, signal, received: 0 };
  try {
    await runPool(ranges, options.connections, (range) =>
      options.slots.run(async () => {
        try {
          await fetchRange(io, range[0], range[1], false);
        } catch (error) {
          stop.abort(error); // the other ranges of this blob stop too
          throw error;
        }
      }),
    );
  } catch (error) {
    if (!(error instanceof RangesIgnored) || options.signal.aborted) throw error;
    await options.slots.run(() => fetchRange({ ...io, signal: options.signal }, 0, target.size, true));
    return io.received;
  }
  return io.received;
}

interface RangeIo {
  client: RegistryClient;
  target: BlobTarget;
  partial: PartialFile;
  hasher: OrderedHasher;
  options: DownloadOptions;
  signal: AbortSignal;
  received: number;
}

/**
 * Bytes [start, end) of the blob into the partial at their offsets. `whole`: the registry ignores ranges, so every
 * attempt asks for (and rewrites) the whole blob.
 */
async function fetchRange(io: RangeIo, start: number, end: number, whole: boolean): Promise<void> {
  const { client, target, signal } = io;
  const what = `blob ${target.digest.slice(0, 19)}`;
  const tracker = new RetryTracker(DEFAULT_RETRY);
  let at = start;
  while (at < end) {
    signal.throwIfAborted();
    if (whole) at = 0;
    const ranged = !whole && !(at === 0 && end === target.size);
    const response = await client.request('GET', client.repoUrl(`blobs/${target.digest}`), {
      what,
      headers: ranged ? { range: `bytes=${at}-${end - 1}` } : {},
      signal,
    });
    if (ranged && response.status !== 206) {
      await response.body?.cancel().catch(() => {});
      if (response.status === 200) throw new RangesIgnored(`${client.ref.registry} ignores Range`);
      throw new ModelImportError('NETWORK', `${client.ref.registry} answered ${response.status} to a ranged GET of ${what}.`, { hint: 'Run the same command again: it resumes.' });
    }
    if (ranged) checkContentRange(response.headers.get('content-range'), at, target.size, what);
    const progressedFrom = at;
    let batch: Uint8Array[] = [];
    let batched = 0;
    let batchAt = at;
    let batchSince = 0;
    let writing: Promise<void> = Promise.resolve();
    const flush = () => {
      if (batched === 0) return;
      const data = batch.length === 1 ? Buffer.from(batch[0].buffer, batch[0].byteOffset, batch[0].byteLength) : Buffer.concat(batch, batched);
      const position = batchAt;
      batch = [];
      batchAt += batched;
      batched = 0;
      writing = writing.then(() => writeAt(io, data, position));
    };
    try {
      for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (at + piece.byteLength > end) {
          throw new ModelImportError('HASH_MISMATCH', `${what} is longer than its manifest says (${target.size} bytes).`, {
            hint: 'The registry serves other bytes than the manifest names; nothing was registered.',
          });
        }
        if (batched === 0) batchSince = Date.now();
        batch.push(piece);
        batched += piece.byteLength;
        at += piece.byteLength;
        io.received += piece.byteLength;
        tracker.progressed();
        io.options.onProgress?.(piece.byteLength);
        if (batched >= WRITE_BATCH || Date.now() - batchSince >= BATCH_MS) {
          await writing; // one write in flight while the next batch fills
          flush();
        }
      }
      flush();
      await writing;
    } catch (error) {
      // What arrived is kept (the final digest vouches for it): a retry or a rerun resumes after it.
      flush();
      await writing;
      if (signal.aborted) throw signal.reason ?? error;
      const transient = asTransient(error);
      if (!transient) throw error;
      if (at > progressedFrom) tracker.progressed();
      const delay = tracker.failed(transient);
      if (delay === undefined) {
        throw new ModelImportError('NETWORK', `${what}: ${transient.what}; giving up after ${tracker.attempts} attempts.`, { hint: 'Run the same command again: it resumes from the bytes already here.' });
      }
      await sleep(delay, signal);
      continue;
    }
    if (at < end) {
      const delay = tracker.failed(new TransientError('the connection ended early'));
      if (delay === undefined) throw new ModelImportError('NETWORK', `${what} kept ending early.`, { hint: 'Run the same command again: it resumes.' });
      await sleep(delay, signal);
    }
  }
}

/** A 206 must start where we asked, and be of a blob of the manifest's size. */
function checkContentRange(header: string | null, at: number, size: number, what: string): void {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header ?? '');
  if (!m || Number(m[1]) !== at) throw new TransientError(`${what}: the registry answered a range without the Content-Range asked for`);
  if (m[3] !== '*' && Number(m[3]) !== size) {
    throw new ModelImportError('HASH_MISMATCH', `${what} is ${m[3]} bytes at the registry, but its manifest says ${size}.`, {
      hint: 'The registry serves other bytes than the manifest names; nothing was registered.',
    });
  }
}

async function writeAt(io: RangeIo, data: Buffer, position: number): Promise<void> {
  try {
    await io.partial.write(data, position);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw error;
    throw new ModelImportError('DISK_SPACE', `The disk filled up while writing blob ${io.target.digest.slice(0, 19)} to ${io.options.partialDir}.`, {
      hint: 'Free some space and run the same command again; what was downloaded so far is kept and resumed.',
      cause: error,
    });
  }
  io.hasher.onWritten(position, data);
}
