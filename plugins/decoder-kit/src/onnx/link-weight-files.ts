/**
 * Puts each weight file into onnx/ as a hard link to the one in the model folder. onnxruntime resolves external
 * data relative to the graph and refuses `../`, absolute paths and symlinks that leave the folder (§7.3, §7.8);
 * a hard link is the same inode, so the weights exist once on disk and `verify` hashes one content.
 */
import { link, lstat, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelImportError } from '../../../../src/index.js';

export async function linkWeightFiles(modelDir: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const source = join(modelDir, file);
    const target = join(modelDir, 'onnx', file);
    const sourceStat = await stat(source);
    const existing = await lstat(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (existing && existing.isFile() && existing.ino === sourceStat.ino && existing.dev === sourceStat.dev) continue;
    if (existing) await unlink(target);
    try {
      await link(source, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ModelImportError('CONVERSION_FAILED', `cannot hard-link ${file} into onnx/ (${code})`, {
        hint: 'Put the models folder on a file system that supports hard links (the ONNX graph reads the weights through them).',
        cause: error,
      });
    }
  }
}
