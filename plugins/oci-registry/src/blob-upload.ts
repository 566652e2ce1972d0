/**
 * Pushes one blob: HEAD first (already there: nothing sent), then a cross-repository mount when another
 * repository of the same registry has it, else a chunked upload (POST, PATCH chunks, PUT ?digest=). A blob
 * that fits in one chunk goes as POST + one PUT with the body. The upload's location is kept in a small state
 * file after each chunk, so a push killed mid-blob resumes from the registry's own count of received bytes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ModelImportError, acquireOwnerLock } from '../../../src/index.js';
import type { RegistryClient } from './registry-client.js';

export interface BlobSource {
  digest: string;
  size: number;
  /** A file holding the bytes, or the bytes themselves (small JSON blobs). */
  file?: string;
  bytes?: Buffer;
}

export interface UploadOptions {
  chunkSize: number;
  /** Folder for resumable upload state (one JSON file per blob digest), or undefined for none. */
  stateDir?: string;
  /** Repositories of the same registry that may already hold the blob. */
  mountFrom?: string[];
  onProgress?: (bytes: number) => void;
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
  return range ? Number(range[1]) + 1 : 0;
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
      if (received !== undefined && received <= blob.size) {
        location = saved.location;
        offset = received;
        outcome = 'resumed';
      }
    }
  }
  if (!location) {
    const response = await client.request('POST', client.repoUrl('blobs/uploads/'), { what: `upload of ${what}` });
    await response.body?.cancel().catch(() => {});
    location = client.resolveLocation(response.headers.get('location'), what);
  }

  const handle = blob.file ? await fs.open(blob.file, 'r') : undefined;
  try {
    if (offset === 0 && blob.size <= options.chunkSize) {
      // One request: the spec's "monolithic" PUT, cheapest for small blobs.
      const bytes = await readChunk(blob, handle, 0, blob.size);
      await finish(client, location, blob, bytes, what);
      options.onProgress?.(blob.size);
    } else {
      while (offset < blob.size) {
        const length = Math.min(options.chunkSize, blob.size - offset);
        const bytes = await readChunk(blob, handle, offset, length);
        const response = await client.request('PATCH', location, {
          what,
          accept: [416],
          body: bytes,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(length),
            'content-range': `${offset}-${offset + length - 1}`,
          },
        });
        await response.body?.cancel().catch(() => {});
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
