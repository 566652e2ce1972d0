/**
 * Puts a downloaded file into the output without copying its bytes: a hard link (same inode, so the staging
 * rename later moves nothing either). Only when the two folders are on different devices (EXDEV) is the file
 * copied, and the caller reports that as a warning because it costs the full size in time and disk.
 */
import { copyFile, link } from 'node:fs/promises';
import { ModelImportError } from '../../../../src/index.js';

export type Placement = 'linked' | 'copied';

export async function linkOrCopy(from: string, to: string): Promise<Placement> {
  try {
    await link(from, to);
    return 'linked';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV') {
      await copyFile(from, to);
      return 'copied';
    }
    throw new ModelImportError('CONVERSION_FAILED', `cannot link ${from} to ${to}: ${code ?? String(error)}`, {
      cause: error,
      hint: code === 'EEXIST' ? 'The output folder is not empty; start from a fresh staging folder.' : 'Check permissions and free space of the models folder.',
    });
  }
}
