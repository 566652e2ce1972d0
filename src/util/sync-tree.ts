/**
 * Makes a folder durable before it is published: every regular file is fsynced, then every folder (deepest
 * first, so a folder's entries are on disk before the entry that names the folder). A rename only makes a
 * model visible atomically; without this, a power cut after the registry entry reached disk could leave a
 * registered model whose weights or config are still only in the page cache (zero-length or torn after reboot).
 *
 * Files whose data a writer already synced cost one cheap fsync each. Two files are synced at a time: the disk
 * writes back large shards in parallel, and the calls wait on the thread pool, not on this thread. Not more: an
 * fsync holds its pool thread until the file is on disk, and validation runs meanwhile; with all four of libuv's
 * threads in fsync, every file read of the process (the validator's module imports, its file checks) queued
 * behind a 1.5 GB writeback (~0.4 s before the first check of a Qwen3.5-0.8B import).
 * A file linked twice into the folder (the weights, beside their onnx/ link) is one inode: synced once.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const AT_ONCE = 2;

export interface SyncTreeResult {
  files: number;
  folders: number;
}

export async function syncTree(root: string, signal?: AbortSignal): Promise<SyncTreeResult> {
  const files: string[] = [];
  const folders: string[] = [];
  const inodes = new Set<string>();
  async function walk(dir: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const { dev, ino } = await fs.lstat(full);
        const inode = `${dev}:${ino}`;
        if (!inodes.has(inode)) files.push(full);
        inodes.add(inode);
      }
      // symlinks and special files are not ours to sync (the model folder holds none)
    }
    folders.push(dir); // after its children: deepest first
  }
  await walk(root);

  let next = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      signal?.throwIfAborted();
      await syncPath(files[next++]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, files.length) }, worker));
  for (const dir of folders) {
    signal?.throwIfAborted();
    await syncPath(dir);
  }
  return { files: files.length, folders: folders.length };
}

/** fsync of one file or folder (a folder is opened read-only: that is how its entries are flushed on Linux). */
export async function syncPath(target: string): Promise<void> {
  const handle = await fs.open(target, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a folder (EINVAL, EISDIR on a few); the files themselves are synced.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}
