/**
 * fetch for a local folder or HF cache snapshot, through the models folder's blob store, so importing files the
 * store already holds costs no disk:
 * - a file whose sha256 is known (an HF cache blob name) and is in the store is linked from it; else the cache
 *   blob is adopted (hard link into the store, hashed there; the cache's inode is never written);
 * - a file of a plain folder is hashed first when a blob of its size exists (a read, no write), and linked if it
 *   is one; else it is copied into the store while being hashed (one pass), then linked.
 * The user's own files are copied, never linked: a later edit of their folder must not change a registered model.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError, safeJoin, sha256File, type BlobStore, type FetchContext, type FetchedFile, type PlannedFile } from '../../../src/index.js';

export interface LocalSourceFile {
  planned: PlannedFile;
  /** The file's real path (symlinks of a snapshot resolved, checked to stay in its repo folder). */
  realPath: string;
}

export async function fetchIntoStore(files: readonly LocalSourceFile[], blobs: BlobStore, context: FetchContext): Promise<FetchedFile[]> {
  const fetched: FetchedFile[] = [];
  for (const { planned: file, realPath } of files) {
    const dest = safeJoin(context.rawDir, file.path);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const task = context.reporter.task(file.path, file.size, 'copy');
    let sha256 = file.sha256;
    let here = false;
    if (sha256) {
      here = (await blobs.linkTrusted(sha256, file.size, [dest], context.signal)) ||
        ((await blobs.adopt(realPath, sha256, file.size, context.signal)) && (await blobs.linkTrusted(sha256, file.size, [dest], context.signal)));
      if (!here) throw cacheMismatch(file.path);
    } else if (await blobs.hasSize(file.size)) {
      sha256 = await sha256File(realPath, context.signal);
      here = await blobs.linkTrusted(sha256, file.size, [dest], context.signal);
    }
    if (here) {
      task.resumeFrom(file.size); // already here: in the percentage, not the speed
    } else {
      sha256 = await blobs.copyIn(realPath, [dest], context.signal, (n) => task.advance(n));
    }
    task.end();
    fetched.push({ path: file.path, size: file.size, sha256: sha256! });
  }
  return fetched;
}

function cacheMismatch(file: string): ModelImportError {
  return new ModelImportError('HASH_MISMATCH', `${file} in the cache does not match its blob name.`, {
    hint: 'The cache is corrupted: delete that blob and download the model again.',
  });
}
