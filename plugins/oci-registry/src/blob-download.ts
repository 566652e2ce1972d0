/**
 * Fetches one blob into `<partialDir>/oci-<hex>.part`, hashing while it streams, resuming with Range from
 * the bytes a killed or failed run left there (re-hashed first), and retrying drops within the retry budget.
 * The digest is checked before the file is moved to its place: a blob that does not match is deleted and
 * refused (HASH_MISMATCH), so a wrong byte is never renamed into staging.
 *
 * Seam for the content-addressed store of branch issue-14-bytes: `partialDir` plus the digest is the only
 * place a blob is kept between runs; a store keyed by sha256 can take the finished file instead of the rename.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError } from '../../../src/index.js';
import { RetryTracker, asTransient, sleep, TransientError } from '../../../src/index.js';
import { DEFAULT_RETRY, type RegistryClient } from './registry-client.js';

const WRITE_BATCH = 1 << 20;

export interface DownloadOptions {
  partialDir: string;
  onProgress?: (bytes: number) => void;
  signal: AbortSignal;
}

export interface DownloadResult {
  file: string;
  /** Bytes that came over the network in this run. */
  downloaded: number;
}

async function hashExisting(file: string, signal: AbortSignal): Promise<{ hash: ReturnType<typeof createHash>; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20, signal })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { hash, size };
}

export async function downloadBlob(client: RegistryClient, digest: string, size: number, options: DownloadOptions): Promise<DownloadResult> {
  const hex = digest.slice('sha256:'.length);
  const file = path.join(options.partialDir, `oci-${hex}.part`);
  await fs.mkdir(options.partialDir, { recursive: true });
  let { hash, size: have } = await hashExisting(file, options.signal);
  if (have > size) {
    await fs.rm(file, { force: true });
    ({ hash, size: have } = { hash: createHash('sha256'), size: 0 });
  }
  if (have > 0) options.onProgress?.(have);
  const what = `blob ${digest.slice(0, 19)}`;
  const tracker = new RetryTracker(DEFAULT_RETRY);
  let downloaded = 0;
  const handle = await fs.open(file, have > 0 ? 'a' : 'w');
  try {
    while (have < size) {
      const response = await client.request('GET', client.repoUrl(`blobs/${digest}`), {
        what,
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
      });
      if (have > 0 && response.status !== 206) {
        // The registry ignored the range: start over rather than append the whole blob to what we have.
        await response.body?.cancel().catch(() => {});
        await handle.truncate(0);
        ({ hash, size: have } = { hash: createHash('sha256'), size: 0 });
        if (response.status !== 200) throw new ModelImportError('NETWORK', `${client.ref.registry} answered ${response.status} to a ranged GET of ${what}.`);
        continue;
      }
      // Network chunks are small (16-64 KiB): gather them into 1 MiB writes, one write in flight while reading on.
      let batch: Uint8Array[] = [];
      let batched = 0;
      let writing: Promise<unknown> = Promise.resolve();
      const flush = async () => {
        await writing;
        if (batched === 0) return;
        const data = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
        batch = [];
        batched = 0;
        writing = handle.write(data);
        await writing;
      };
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (have + chunk.length > size) throw new ModelImportError('HASH_MISMATCH', `${what} is longer than its manifest says (${size} bytes).`, { hint: 'The registry serves other bytes than the manifest names; nothing was registered.' });
          hash.update(chunk);
          batch.push(chunk);
          batched += chunk.length;
          have += chunk.length;
          downloaded += chunk.length;
          tracker.progressed();
          options.onProgress?.(chunk.length);
          if (batched >= WRITE_BATCH) {
            await writing;
            const data = Buffer.concat(batch, batched);
            batch = [];
            batched = 0;
            writing = handle.write(data);
          }
        }
        await flush();
      } catch (error) {
        // What arrived is kept (it was hashed in order): a retry or a rerun resumes after it.
        await flush();
        if (options.signal.aborted) throw options.signal.reason ?? error;
        const transient = asTransient(error);
        if (!transient) throw error;
        const delay = tracker.failed(transient);
        if (delay === undefined) throw new ModelImportError('NETWORK', `${what}: ${transient.what}; giving up after ${tracker.attempts} attempts.`, { hint: 'Run the same command again: it resumes from the bytes already here.' });
        await sleep(delay, options.signal);
        continue;
      }
      if (have < size) {
        const delay = tracker.failed(new TransientError('the connection ended early'));
        if (delay === undefined) throw new ModelImportError('NETWORK', `${what} kept ending early.`, { hint: 'Run the same command again: it resumes.' });
        await sleep(delay, options.signal);
      }
    }
    // No fsync here: the kernel syncs the staged folder before it publishes the model.
  } finally {
    await handle.close();
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== digest) {
    await fs.rm(file, { force: true });
    throw new ModelImportError('HASH_MISMATCH', `${what} does not match its digest (got ${actual.slice(0, 19)}…); nothing was registered.`, {
      hint: 'The registry serves corrupted or substituted bytes: report it to its operator.',
    });
  }
  return { file, downloaded };
}
