import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError } from './errors.js';

/** Free bytes for an unprivileged writer on the file system holding `target` (or its nearest existing parent). */
export async function freeBytes(target: string): Promise<number> {
  let dir = path.resolve(target);
  for (;;) {
    try {
      const stats = await fs.statfs(dir);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch (error) {
      const parent = path.dirname(dir);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw error;
      dir = parent;
    }
  }
}

import { formatBytes } from '../util/format-bytes.js';

export { formatBytes };

/** The margin kept free beyond what the import needs: 5% of it plus 100 MB for registry, logs and the OS. */
export function diskMargin(needed: number): number {
  return Math.ceil(needed * 0.05) + 100e6;
}

export async function assertDiskSpace(where: string, download: number, scratch: number): Promise<void> {
  const margin = diskMargin(download + scratch);
  const needed = download + scratch + margin;
  const free = await freeBytes(where);
  if (needed > free) {
    throw new ModelImportError(
      'DISK_SPACE',
      `Not enough disk space in ${where}: the import needs ${formatBytes(needed)} (download ${formatBytes(download)} + conversion ${formatBytes(scratch)} + margin ${formatBytes(margin)}) but only ${formatBytes(free)} is free.`,
      { hint: 'Free some space, or pass --models-dir on a larger disk.', details: { needed, free, where, download, scratch, margin } },
    );
  }
}
