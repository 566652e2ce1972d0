/**
 * The user's Hugging Face cache as a source of bytes (reference hf-hub-api.md §6): LFS files are stored as
 * `models--{org}--{name}/blobs/<sha256>`, with `snapshots/<commit>/<path>` symlinks onto them. We only ever read
 * it: the blob store adopts a candidate by hashing its own link or copy (src/kernel/blob-store.ts).
 */
import { lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Env } from './hub-env.js';

/** HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: Env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

/**
 * The cache's blob for a file of `repoId`, if a regular file of that size is there: LFS files are named by their
 * sha256, small files by their git blob id (the hub's ETag for them).
 */
export async function findHfCacheBlob(env: Env, repoId: string, sha256: string, size: number): Promise<string | undefined> {
  if (!/^[0-9a-f]{64}$|^[0-9a-f]{40}$/.test(sha256) || !/^[\w.-]+(\/[\w.-]+)?$/.test(repoId) || repoId.includes('..')) return undefined;
  const file = path.join(hubCacheDir(env), `models--${repoId.split('/').join('--')}`, 'blobs', sha256);
  const stat = await lstat(file).catch(() => undefined);
  return stat?.isFile() && stat.size === size ? file : undefined;
}
