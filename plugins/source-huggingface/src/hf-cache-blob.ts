/**
 * The user's Hugging Face cache as a source of bytes (reference hf-hub-api.md §6): LFS files are stored as
 * `models--{org}--{name}/blobs/<sha256>`, with `snapshots/<commit>/<path>` symlinks onto them. We only ever read
 * it: the blob store adopts a candidate by hashing its own link or copy (src/kernel/blob-store.ts).
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { hubCacheDir, repoFolderName } from '../../../src/index.js';
import type { Env } from './hub-env.js';

/**
 * The cache's blob for a file of `repoId`, if a regular file of that size is there: LFS files are named by their
 * sha256, small files by their git blob id (the hub's ETag for them).
 */
export async function findHfCacheBlob(env: Env, repoId: string, sha256: string, size: number): Promise<string | undefined> {
  if (!/^[0-9a-f]{64}$|^[0-9a-f]{40}$/.test(sha256) || !/^[\w.-]+(\/[\w.-]+)?$/.test(repoId) || repoId.includes('..')) return undefined;
  const file = path.join(hubCacheDir(env), repoFolderName(repoId), 'blobs', sha256);
  const stat = await lstat(file).catch(() => undefined);
  return stat?.isFile() && stat.size === size ? file : undefined;
}
