/**
 * Bytes fetch need not download: a target already in the models folder's blob store, or in the user's Hugging Face
 * cache (taken only after its hash checked, never written there). Found before anything is downloaded (the plan
 * line says how much), linked into staging when the target's turn comes.
 */
import { formatBytes, type BlobStore, type Reporter } from '../../../src/index.js';
import type { Target } from './download-targets.js';
import { findHfCacheBlob } from './hf-cache-blob.js';
import type { Env } from './hub-env.js';
import { NAME } from './names.js';

export type LocalCopy = { sha256: string; from: 'store' } | { sha256?: string; gitOid?: string; from: 'hf-cache'; file: string };

/** Where the target's bytes already are: the store (by sha256, or by the git blob id it recorded), else the HF cache. */
export async function findLocalCopy(target: Target, blobs: BlobStore, env: Env, modelId: string): Promise<LocalCopy | undefined> {
  const sha256 = target.sha256 ?? (target.gitOid ? await blobs.sha256OfGitOid(target.gitOid) : undefined);
  if (sha256 && (await blobs.has(sha256, target.size))) return { sha256, from: 'store' };
  const file = await findHfCacheBlob(env, modelId, target.key, target.size);
  if (file) return { ...(target.sha256 ? { sha256: target.sha256 } : { gitOid: target.gitOid }), from: 'hf-cache', file };
  return undefined;
}

/** "652.6 MB to download, 335.5 MB already here (… of it in the Hugging Face cache)." */
export function planLine(totalBytes: number, hereBytes: number, fromCacheBytes: number): string {
  const cache = fromCacheBytes > 0 ? ` (${formatBytes(fromCacheBytes)} of it in the Hugging Face cache)` : '';
  return `${formatBytes(totalBytes - hereBytes)} to download, ${formatBytes(hereBytes)} already here${cache}.`;
}

/**
 * Links the local copy at every destination of the target (adopting an HF cache blob into the store first, after
 * checking its hash). Returns the blob's sha256, or undefined when it must be downloaded after all (said why).
 */
export async function linkLocalCopy(local: LocalCopy, target: Target, blobs: BlobStore, reporter: Reporter, signal: AbortSignal): Promise<string | undefined> {
  let sha256 = local.sha256;
  if (local.from === 'hf-cache') {
    sha256 = local.sha256
      ? (await blobs.adopt(local.file, local.sha256, target.size, signal)) ? local.sha256 : undefined
      : await blobs.adoptGitBlob(local.file, local.gitOid!, target.size, signal);
    if (!sha256) {
      reporter.warn(`${target.paths[0]}: the copy in the Hugging Face cache does not match its hash; downloading it.`, NAME);
      return undefined;
    }
  }
  if (!sha256) return undefined;
  if (local.from === 'store' && !(await blobs.trusted(sha256, target.size, signal))) {
    reporter.warn(`${target.paths[0]}: its blob in ${blobs.blobDir} was altered since it was verified; downloading it again.`, NAME);
    return undefined;
  }
  const release = await blobs.lock(sha256, signal); // a gc in another process must not remove it meanwhile
  try {
    for (const dest of target.dests) {
      if (!(await blobs.linkInto(sha256, dest))) return undefined;
    }
  } finally {
    await release();
  }
  return sha256;
}
