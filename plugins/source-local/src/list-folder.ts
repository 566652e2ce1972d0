/**
 * Lists the files of a local model folder (recursively), resolving symlinks only when they stay inside
 * `allowedRoot` (an HF cache snapshot links into ../../blobs of its own repo folder; anything else is refused).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError } from '../../../src/index.js';

export interface LocalFile {
  /** Posix path relative to the folder. */
  path: string;
  /** Real file to read. */
  realPath: string;
  size: number;
  /** sha256 when the cache's blob name tells it (LFS blobs are named after their sha256). */
  blobSha256?: string;
}

export async function listFolder(root: string, allowedRoot: string): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const realAllowed = await fs.realpath(allowedRoot);
  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .git, .cache, .gitattributes: not part of the model
      const full = path.join(dir, entry.name);
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      const real = await fs.realpath(full).catch(() => undefined);
      if (!real) throw new ModelImportError('BAD_INPUT', `Broken link ${rel} in ${root}.`, { hint: 'Repair or re-download the folder.' });
      if (real !== realAllowed && !real.startsWith(realAllowed + path.sep)) {
        throw new ModelImportError('UNSAFE_PATH', `Refused ${rel} in ${root}: it links outside ${allowedRoot}.`, {
          hint: 'Copy the real files into the model folder instead of linking them.',
        });
      }
      const stat = await fs.stat(real);
      if (stat.isDirectory()) await walk(full, rel);
      else if (stat.isFile()) {
        const blob = path.basename(real);
        files.push({ path: rel, realPath: real, size: stat.size, ...(/^[0-9a-f]{64}$/.test(blob) ? { blobSha256: blob } : {}) });
      }
    }
  }
  await walk(root, '');
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}
