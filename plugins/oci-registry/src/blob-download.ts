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
 * A registry that does not announce Accept-Ranges gets one whole-blob request instead.
 */
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, RetryTracker, asTransient, sleep, type BlobStore } from '../../../src/index.js';
import { HttpStatusError, RangeGet, READ_BUFFER_BYTES } from '../../source-huggingface/index.js';
import { BatchWriter, OrderedHasher, PartialFile, chunkSizeFor, type Digests } from '../../../src/index.js';
import { DEFAULT_RETRY, type RegistryClient } from './registry-client.js';
import { runPool, type Slots } from './run-pool.js';

const WRITE_BATCH = 1 << 20;
/** No byte for this long is a stall (retried), as in the hub source (options.ts DEFAULTS.stallTimeoutMs). */
const STALL_MS = 30_000;
const USER_AGENT = 'model-import (source-oci; node)';
/**
 * Blobs up to this size also get their git blob sha1 recorded in the store: the hub lists small (non-LFS) files by
 * that id only, so a hub import after this pull finds them here too. Larger files are LFS, listed by sha256.
 */
const GIT_OID_MAX = 16 << 20;
/**
 * Largest range of one blob GET. chunkSizeFor cuts a blob into about one range per connection below this: a
 * registry pays per request (distribution with htpasswd checks bcrypt on every one, ~17 ms of its CPU), so few
 * large ranges pull faster than the hub source's 32 MiB ones (bench, 988 MB blob over loopback: 1.53 x curl at
 * 32 MiB, 0.89 x at 128 MiB). Resuming loses nothing by it: the partial records bytes as they land, not ranges.
 */
export const DEFAULT_RANGE = 128 << 20;

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

/**
 * Fetches the partial's gaps, cut into ranges, over the shared connections. Returns the bytes received. A HEAD
 * first (it also authenticates): a registry that does not say `Accept-Ranges: bytes` gets one whole-blob request.
 */
async function fillGaps(client: RegistryClient, target: BlobTarget, partial: PartialFile, hasher: OrderedHasher, options: DownloadOptions): Promise<number> {
  const url = client.repoUrl(`blobs/${target.digest}`);
  const what = `blob ${target.digest.slice(0, 19)}`;
  const head = await client.request('HEAD', url, { what });
  const ranged = /\bbytes\b/i.test(head.headers.get('accept-ranges') ?? '');
  const chunk = ranged ? chunkSizeFor(target.size, options.rangeSize ?? DEFAULT_RANGE, options.connections) : target.size;
  const gaps = ranged ? partial.done.missing(target.size) : [[0, target.size] as [number, number]];
  const ranges: [number, number][] = [];
  for (const [start, end] of gaps) {
    for (let at = start; at < end; at += chunk) ranges.push([at, Math.min(end, at + chunk)]);
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  // Batches sized to the blob: a small one needs no 1 MiB buffers, and is written (and resumable) as it comes.
  const batch = Math.min(WRITE_BATCH, Math.max(64 << 10, Math.ceil(target.size / 4)));
  const io: RangeIo = { client, target, partial, hasher, options, signal, received: 0, url, what, batch };
  await runPool(ranges, options.connections, (range) =>
    options.slots.run(async () => {
      try {
        await fetchRange(io, range[0], range[1]);
      } catch (error) {
        stop.abort(error); // the other ranges of this blob stop too
        throw error;
      }
    }),
  );
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
  url: string;
  what: string;
  batch: number;
}

/**
 * Bytes [start, end) of the blob into the partial at their offsets, through the hub source's RangeGet (one reused
 * socket read buffer, no allocation per read) and BatchWriter (double-buffered positional writes; the socket
 * pauses while both buffers are busy). Bytes that arrived before a drop are kept; the retry asks for the rest.
 */
async function fetchRange(io: RangeIo, start: number, end: number): Promise<void> {
  const { client, target, signal, url, what } = io;
  const tracker = new RetryTracker(DEFAULT_RETRY);
  const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(io.batch + READ_BUFFER_BYTES), Buffer.allocUnsafe(io.batch + READ_BUFFER_BYTES)];
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const writer = new BatchWriter(buffers, start, io.batch, (data, at) => writeAt(io, data, at));
  let reauthenticated = false;
  while (writer.position < end) {
    signal.throwIfAborted();
    const attemptStart = writer.position;
    const request = new RangeGet({
      url,
      start: attemptStart,
      end,
      size: target.size,
      authorization: client.authFor(url).authorization,
      authOrigin: new URL(url).origin,
      signal,
      stallMs: Math.min(STALL_MS, Math.max(50, tracker.remainingMs())),
      userAgent: USER_AGENT,
      readBuffer,
    });
    writer.onResume = () => request.resume();
    writer.onFailure = (error) => request.fail(error);
    let failure: unknown;
    try {
      await request.run((view) => {
        io.received += view.byteLength;
        io.options.onProgress?.(view.byteLength);
        return writer.push(view);
      });
    } catch (error) {
      failure = error;
    }
    // What arrived before a cut is kept (the final digest vouches for it). A failed write wins.
    await writer.flush();
    if (failure === undefined) continue;
    if (signal.aborted) throw signal.reason ?? failure;
    if (writer.position > attemptStart) tracker.progressed();
    if (failure instanceof HttpStatusError) {
      const status = failure.failure.status;
      if (status === 401 && !reauthenticated) {
        // A token that expired mid-pull: the client's own request answers the challenge again.
        reauthenticated = true;
        await client.request('HEAD', url, { what, signal });
        continue;
      }
      throw new ModelImportError(status === 401 || status === 403 ? 'TOKEN_INVALID' : 'NETWORK', `${client.ref.registry} answered ${status} to a GET of ${what}.`, {
        hint: 'Check the credentials and that the blob is still in the repository, then run the same command again: it resumes.',
      });
    }
    const transient = asTransient(failure);
    if (!transient) throw failure;
    const delay = tracker.failed(transient);
    if (delay === undefined) {
      throw new ModelImportError('NETWORK', `${what}: ${transient.what.replace(/\bthe hub\b/g, 'the registry')}; giving up after ${tracker.attempts} attempts.`, {
        hint: 'Run the same command again: it resumes from the bytes already here.',
      });
    }
    await sleep(delay, signal);
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
