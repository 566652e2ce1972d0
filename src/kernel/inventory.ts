/**
 * Lists every file of a finished model folder with size and sha256. Files that are hard links of fetched
 * files (same inode) reuse the hash the fetch verified, so a no-copy conversion costs no second read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError } from './errors.js';
import { sha256File } from '../util/hash-file.js';
import type { FetchedFile } from './types.js';

export interface Inventory {
  files: FetchedFile[];
  /** Bytes on disk, hard links counted once. */
  bytesOnDisk: number;
}

export async function knownHashesByInode(rawDir: string, fetched: readonly FetchedFile[]): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for (const file of fetched) {
    const stat = await fs.stat(path.join(rawDir, ...file.path.split('/'))).catch(() => undefined);
    if (stat) known.set(`${stat.dev}:${stat.ino}`, file.sha256);
  }
  return known;
}

/**
 * `known` maps dev:inode to sha256 (hard links of verified files); `byPath` maps relative paths to sha256 that the
 * writer computed while writing. Anything else is hashed here.
 */
export async function inventoryFolder(
  root: string,
  known: Map<string, string> = new Map(),
  signal?: AbortSignal,
  byPath: Readonly<Record<string, string>> = {},
): Promise<Inventory> {
  const files: FetchedFile[] = [];
  const seenInodes = new Set<string>();
  let bytesOnDisk = 0;
  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    // Files before folders: the root weights (whose hashes are known by path) are seen before their links in onnx/.
    entries.sort((a, b) => Number(a.isDirectory()) - Number(b.isDirectory()) || a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(full, rel);
      } else if (entry.isFile()) {
        const stat = await fs.stat(full);
        const key = `${stat.dev}:${stat.ino}`;
        let sha256 = known.get(key) ?? (Object.hasOwn(byPath, rel) ? byPath[rel] : undefined);
        sha256 ??= await sha256File(full, signal);
        // Remembered by inode too: a hard link of this file elsewhere in the folder (onnx/) needs no second read.
        known.set(key, sha256);
        if (!seenInodes.has(key)) {
          seenInodes.add(key);
          bytesOnDisk += stat.size;
        }
        files.push({ path: rel, size: stat.size, sha256 });
      } else {
        throw new ModelImportError('BAD_INPUT', `Unexpected ${entry.isSymbolicLink() ? 'symbolic link' : 'special file'} ${rel} in the model folder.`, {
          hint: 'A model folder holds regular files only; report this to the plugin that wrote it.',
        });
      }
    }
  }
  await walk(root, '');
  return { files, bytesOnDisk };
}
