// @ts-check
/**
 * Puts the weight files into the output folder without copying a byte: a hard link (same inode, so the kernel's
 * final rename moves nothing either). Only across devices (EXDEV) is a file copied, with a progress task, and
 * the caller reports that as a warning because it costs the full size in time and disk.
 */
import { copyFile, link, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, safeJoin } from 'model-import';

/** @import { Reporter } from 'model-import' */

/**
 * @param {string} rawDir
 * @param {string} outDir
 * @param {readonly string[]} files relative paths (as the checkpoint names them)
 * @param {Reporter} reporter
 * @param {AbortSignal} signal
 * @returns {Promise<{ copied: string[] }>}
 */
export async function linkWeights(rawDir, outDir, files, reporter, signal) {
  /** @type {string[]} */
  const copied = [];
  for (const file of files) {
    signal.throwIfAborted();
    const from = safeJoin(rawDir, file, 'weights file');
    const to = safeJoin(outDir, file, 'weights file');
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await link(from, to);
    } catch (error) {
      const code = /** @type {NodeJS.ErrnoException} */ (error).code;
      if (code !== 'EXDEV') {
        throw new ModelImportError('CONVERSION_FAILED', `cannot link ${file} into the output folder (${code ?? String(error)})`, {
          cause: error,
          hint: code === 'EEXIST' ? 'The output folder is not empty; run the import again.' : 'Check permissions and free space of the models folder.',
        });
      }
      const { size } = await stat(from);
      const task = reporter.task(`copy ${file}`, size, 'convert');
      try {
        await copyFile(from, to);
      } catch (copyError) {
        task.end('failed');
        throw copyError;
      }
      task.advance(size);
      task.end('done');
      copied.push(file);
    }
  }
  return { copied };
}
