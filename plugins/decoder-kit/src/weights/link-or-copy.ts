/**
 * Puts a downloaded file into the output without copying its bytes: a hard link (same inode, so the staging
 * rename later moves nothing either). Only when the two folders are on different devices (EXDEV) is the file
 * copied, with a progress task, and the caller reports that as a warning because it costs the full size in
 * time and disk.
 */
import { copyFile, link, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, type Reporter } from '../../../../src/index.js';

export type Placement = 'linked' | 'copied';

export async function linkOrCopy(from: string, to: string, reporter?: Reporter): Promise<Placement> {
  try {
    await link(from, to);
    return 'linked';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV') {
      const { size } = await stat(from);
      const task = reporter?.task(`copy ${path.basename(from)}`, size, 'convert');
      try {
        await copyFile(from, to);
      } catch (copyError) {
        task?.end('failed');
        throw copyError;
      }
      task?.advance(size);
      task?.end('done');
      return 'copied';
    }
    throw new ModelImportError('CONVERSION_FAILED', `cannot link ${path.basename(from)} into the output folder (${code ?? String(error)})`, {
      cause: error,
      hint: code === 'EEXIST' ? 'The output folder is not empty; start from a fresh staging folder.' : 'Check permissions and free space of the models folder.',
    });
  }
}
