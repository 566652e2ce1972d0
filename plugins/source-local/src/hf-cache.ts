/**
 * The Hugging Face cache layout (reference hf-hub-api.md §6):
 *   $HF_HUB_CACHE/models--{org}--{name}/{blobs/<etag>, refs/<branch>, snapshots/<commit>/<path> -> ../../blobs/<etag>}
 * Recognising a snapshot folder tells us the repo id and the commit; the blob names are checksums.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface CacheSnapshot {
  repoId: string;
  commit: string;
  /** models--org--name */
  repoFolder: string;
  snapshotDir: string;
}

const REPO_FOLDER = /^models--(.+)$/;

/** Recognises `.../models--org--name/snapshots/<commit>` (or a file path below it). */
export function parseSnapshotPath(dir: string): CacheSnapshot | undefined {
  const parts = path.resolve(dir).split(path.sep);
  const at = parts.lastIndexOf('snapshots');
  if (at < 1 || at + 1 >= parts.length) return undefined;
  const match = REPO_FOLDER.exec(parts[at - 1]);
  if (!match) return undefined;
  const commit = parts[at + 1];
  return {
    repoId: match[1].split('--').join('/'),
    commit,
    repoFolder: parts.slice(0, at).join(path.sep),
    snapshotDir: parts.slice(0, at + 2).join(path.sep),
  };
}

/** For a repo folder (models--org--name) or a repo id found in the cache: the snapshot refs/<revision> points to. */
export async function snapshotOfRepoFolder(repoFolder: string, revision = 'main'): Promise<CacheSnapshot | undefined> {
  const match = REPO_FOLDER.exec(path.basename(repoFolder));
  if (!match) return undefined;
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    commit = (await fs.readFile(path.join(repoFolder, 'refs', ...revision.split('/')), 'utf8').catch(() => '')).trim();
    if (!commit) return undefined;
  }
  const snapshotDir = path.join(repoFolder, 'snapshots', commit);
  if (!(await fs.stat(snapshotDir).catch(() => undefined))?.isDirectory()) return undefined;
  return { repoId: match[1].split('--').join('/'), commit, repoFolder, snapshotDir };
}
