/**
 * Pushes one blob: HEAD first (already there: nothing sent), then a cross-repository mount when another
 * repository of the same registry has it, else an upload session (POST ... PUT ?digest=) sent one of three ways:
 * - a small blob (up to SMALL_BLOB): its bytes in the closing PUT, the spec's monolithic upload;
 * - by default, the whole blob streamed from its file in one PATCH without Content-Range, then an empty PUT:
 *   what `docker push` does (distribution's client, blob_writer.go ReadFrom), and like containerd
 *   (core/remotes/docker/pusher.go) and oras-go (registry/remote/repository.go, blobStore.Push), which send the
 *   whole blob in one PUT. One request per blob is what the registry serves fastest, and GHCR, whose limit of 4 MiB
 *   per request applies to Content-Range chunks (wasmCloud/wash-archive#268, oras-project/rust-oci-client#37),
 *   takes whole-blob uploads of any layer size;
 * - with `chunkSize` (push --chunk-size), PATCHes of that many bytes with Content-Range: for a registry or a proxy
 *   in front of it that refuses large request bodies (Cloudflare answers 413 over 100 MB on its smaller plans;
 *   KitOps sends 100 MiB chunks, smolvm 16 MiB; GHCR needs 4 MiB or less). A streamed blob answered 413 falls
 *   back to 4 MiB chunks by itself, for the rest of the push too, so the default suits such registries as well.
 * The upload's location is kept in a small state file, so a push killed mid-blob resumes from the registry's own
 * count of received bytes (GET on the location); so does a streamed PATCH cut by a dropped connection.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ModelImportError, RetryTracker, acquireOwnerLock, asTransient, sleep } from '../../../src/index.js';
import { DEFAULT_RETRY } from './registry-client.js';
import { streamFile } from './stream-upload.js';
import type { RegistryClient } from './registry-client.js';

export interface BlobSource {
  digest: string;
  size: number;
  /** A file holding the bytes, or the bytes themselves (small JSON blobs). */
  file?: string;
  bytes?: Buffer;
}

/** Upload sessions a blob may lose (a registry drops one whose request was cut) before the push gives up. */
const MAX_RESTARTS = 3;

/** Blobs up to this size go in the closing PUT's body (one request, the bytes held in memory once). */
export const SMALL_BLOB = 4 * 2 ** 20;

export interface UploadOptions {
  /** Content-Range chunks of this size; undefined: the whole blob streamed in one PATCH. */
  chunkSize?: number;
  /** Folder for resumable upload state (one JSON file per blob digest), or undefined for none. */
  stateDir?: string;
  /** Repositories of the same registry that may already hold the blob. */
  mountFrom?: string[];
  onProgress?: (bytes: number) => void;
  /** Shared by the blobs of one push: once one was refused as too large in one request, all go in chunks. */
  shared?: { chunked?: boolean };
  /** Stops waiting for another push's lock on the same upload. */
  signal?: AbortSignal;
}

export type UploadOutcome = 'present' | 'mounted' | 'uploaded' | 'resumed';

export async function blobExists(client: RegistryClient, digest: string): Promise<boolean> {
  const response = await client.request('HEAD', client.repoUrl(`blobs/${digest}`), { what: `blob ${digest.slice(0, 19)}`, accept: [404] });
  return response.status !== 404;
}

interface UploadState {
  location: string;
}

function statePath(options: UploadOptions, client: RegistryClient, digest: string): string | undefined {
  if (!options.stateDir) return undefined;
  const key = `${client.ref.registry}_${client.ref.repository}_${digest}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(options.stateDir, `${key}.json`);
}

async function readChunk(blob: BlobSource, handle: fs.FileHandle | undefined, offset: number, length: number): Promise<Buffer> {
  if (blob.bytes) return blob.bytes.subarray(offset, offset + length);
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle!.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) throw new Error(`${blob.file} is shorter than recorded`);
    done += bytesRead;
  }
  return buffer;
}

/** The registry's count of bytes received for an upload in progress (GET on its location), or undefined. */
async function uploadedSoFar(client: RegistryClient, location: string, what: string): Promise<number | undefined> {
  const response = await client.request('GET', location, { what, accept: [404, 400] });
  if (response.status !== 204 && response.status !== 200) return undefined;
  const range = /^(?:bytes=)?0-(\d+)$/.exec(response.headers.get('range') ?? '');
  // distribution answers "0-0" both for no byte and for one (it prints max(size-1, 0)): read as none, and callers
  // start a fresh session rather than resume one whose first byte is in doubt.
  return range && range[1] !== '0' ? Number(range[1]) + 1 : 0;
}

/** A registry or proxy refused a whole blob in one request (413). */
class TooLarge extends Error {}

/** A new upload session: its location. */
async function openSession(client: RegistryClient, what: string): Promise<string> {
  const response = await client.request('POST', client.repoUrl('blobs/uploads/'), { what: `upload of ${what}` });
  await response.body?.cancel().catch(() => {});
  return client.resolveLocation(response.headers.get('location'), what);
}

export async function uploadBlob(client: RegistryClient, blob: BlobSource, options: UploadOptions): Promise<UploadOutcome> {
  const stateFile = statePath(options, client, blob.digest);
  // One push at a time per (registry, repository, blob), as downloads hold their partial's lock: a second push of
  // the same blob waits, then finds it present instead of opening a second upload session beside the first.
  if (stateFile) await fs.mkdir(path.dirname(stateFile), { recursive: true });
  const release = stateFile ? await acquireOwnerLock(stateFile, { signal: options.signal }) : undefined;
  try {
    return await uploadLocked(client, blob, options, stateFile);
  } finally {
    await release?.();
  }
}

async function uploadLocked(client: RegistryClient, blob: BlobSource, options: UploadOptions, stateFile: string | undefined): Promise<UploadOutcome> {
  const what = `blob ${blob.digest.slice(0, 19)}`;
  if (await blobExists(client, blob.digest)) return 'present';
  for (const from of options.mountFrom ?? []) {
    if (from === client.ref.repository) continue;
    const url = `${client.repoUrl('blobs/uploads/')}?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`;
    const response = await client.request('POST', url, { what: `mount of ${what}`, accept: [404] });
    await response.body?.cancel().catch(() => {});
    if (response.status === 201) return 'mounted';
    // 202: the registry opened an ordinary upload instead; abandon it and start our own below.
  }

  let location: string | undefined;
  let offset = 0;
  let outcome: UploadOutcome = 'uploaded';
  if (stateFile) {
    const saved = await fs.readFile(stateFile, 'utf8').then((t) => JSON.parse(t) as UploadState).catch(() => undefined);
    if (saved?.location) {
      const received = await uploadedSoFar(client, saved.location, what).catch(() => undefined);
      if (received !== undefined && received > 0 && received <= blob.size) {
        location = saved.location;
        offset = received;
        outcome = 'resumed';
      }
    }
  }
  location ??= await openSession(client, what);

  const handle = blob.file ? await fs.open(blob.file, 'r') : undefined;
  try {
    if (offset === 0 && blob.size <= (options.chunkSize ?? SMALL_BLOB)) {
      // One request: the spec's "monolithic" PUT, cheapest for small blobs.
      const bytes = await readChunk(blob, handle, 0, blob.size);
      await finish(client, location, blob, bytes, what);
      options.onProgress?.(blob.size);
    } else {
      let chunkSize = options.chunkSize ?? (options.shared?.chunked || !blob.file ? SMALL_BLOB : undefined);
      if (chunkSize === undefined) {
        try {
          location = await streamFrom(client, location, blob.file!, offset, blob.size, what, stateFile, options);
          offset = blob.size;
        } catch (error) {
          if (!(error instanceof TooLarge)) throw error;
          // Refused as one request (413): this blob, and the rest of this push, go in chunks GHCR also takes.
          if (options.shared) options.shared.chunked = true;
          location = await openSession(client, what);
          offset = 0;
          chunkSize = SMALL_BLOB;
        }
      }
      chunkSize ??= SMALL_BLOB;
      let restarts = 0;
      while (offset < blob.size) {
        const length = Math.min(chunkSize, blob.size - offset);
        const bytes = await readChunk(blob, handle, offset, length);
        const response = await client.request('PATCH', location, {
          what,
          accept: [416, 404],
          body: bytes,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(length),
            'content-range': `${offset}-${offset + length - 1}`,
          },
        });
        await response.body?.cancel().catch(() => {});
        if (response.status === 404 && restarts < MAX_RESTARTS) {
          // distribution drops a session whose chunk was cut mid-body (BLOB_UPLOAD_INVALID): start the blob over.
          restarts++;
          location = await openSession(client, what);
          offset = 0;
          continue;
        }
        if (response.status === 404) throw new ModelImportError('NETWORK', `${client.ref.registry} kept losing the upload of ${what}.`, { hint: 'Run the same command again.' });
        if (response.status === 416) {
          // A retried chunk the registry had partly taken before the connection dropped: ask where it stands.
          const received = await uploadedSoFar(client, location, what);
          if (received === undefined || received < offset) {
            throw new ModelImportError('NETWORK', `${client.ref.registry} lost the upload of ${what}.`, { hint: 'Run the same command again.' });
          }
          options.onProgress?.(received - offset);
          offset = received;
          continue;
        }
        location = client.resolveLocation(response.headers.get('location') ?? location, what);
        offset += length;
        options.onProgress?.(length);
        if (stateFile) {
          await fs.mkdir(path.dirname(stateFile), { recursive: true });
          await writeFile(stateFile, JSON.stringify({ location } satisfies UploadState));
        }
      }
      await finish(client, location, blob, undefined, what);
    }
  } finally {
    await handle?.close();
  }
  if (stateFile) await fs.rm(stateFile, { force: true });
  return outcome;
}

/**
 * Streams the file from `offset` in one PATCH (no Content-Range: the registry appends it to what it has). A dropped
 * connection or a 5xx is retried within the hub's budget from the registry's own count, so bytes it kept are not
 * sent again. Returns the upload's location for the closing PUT.
 */
async function streamFrom(
  client: RegistryClient,
  location: string,
  file: string,
  offset: number,
  size: number,
  what: string,
  stateFile: string | undefined,
  options: UploadOptions,
): Promise<string> {
  const tracker = new RetryTracker(DEFAULT_RETRY);
  let restarts = 0;
  // Saved before the bytes go: a push killed mid-stream resumes from what the registry kept.
  if (stateFile) await writeFile(stateFile, JSON.stringify({ location } satisfies UploadState));
  while (offset < size) {
    const from = offset;
    try {
      const response = await streamFile(client, 'PATCH', location, {
        what,
        file,
        start: from,
        end: size,
        accept: [413, 404],
        headers: { 'content-type': 'application/octet-stream' },
        signal: options.signal,
      });
      if (response.status === 404 && restarts < MAX_RESTARTS) {
        restarts++;
        location = await openSession(client, what);
        if (stateFile) await writeFile(stateFile, JSON.stringify({ location } satisfies UploadState));
        offset = 0;
        continue;
      }
      if (response.status === 404) throw new ModelImportError('NETWORK', `${client.ref.registry} kept losing the upload of ${what}.`, { hint: 'Run the same command again.' });
      if (response.status === 413) throw new TooLarge();
      location = client.resolveLocation(response.header('location') ?? location, what);
      const range = /^(?:bytes=)?0-(\d+)$/.exec(response.header('range') ?? '');
      offset = range ? Number(range[1]) + 1 : size;
      if (offset <= from && from < size) throw new ModelImportError('NETWORK', `${client.ref.registry} took none of the bytes of ${what}.`, { hint: 'Try --chunk-size 4MiB.' });
    } catch (error) {
      if (error instanceof ModelImportError) throw error;
      const transient = asTransient(error);
      if (!transient) throw error;
      const delay = tracker.failed(transient);
      if (delay === undefined) {
        throw new ModelImportError('NETWORK', `Uploading ${what}: ${transient.what}; giving up after ${tracker.attempts} attempts.`, {
          hint: 'Run the same command again: it resumes from what the registry kept.',
        });
      }
      await sleep(delay, options.signal ?? new AbortController().signal);
      // Where the upload stands; a session the registry dropped (or one with nothing sure in it) is started over.
      const received = (await uploadedSoFar(client, location, what)) ?? 0;
      if (received > from) tracker.progressed();
      if (received === 0) {
        if (restarts++ >= MAX_RESTARTS) throw new ModelImportError('NETWORK', `${client.ref.registry} kept losing the upload of ${what}.`, { hint: 'Run the same command again.' });
        location = await openSession(client, what);
        if (stateFile) await writeFile(stateFile, JSON.stringify({ location } satisfies UploadState));
      }
      offset = received;
    }
    if (offset > from) options.onProgress?.(offset - from);
  }
  return location;
}

async function finish(client: RegistryClient, location: string, blob: BlobSource, body: Buffer | undefined, what: string): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', blob.digest);
  const response = await client.request('PUT', url.href, {
    what,
    body: body ?? Buffer.alloc(0),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(body?.length ?? 0) },
  });
  await response.body?.cancel().catch(() => {});
}
