/**
 * Opens a large output file for direct I/O (O_DIRECT) where that is safe and supported, else for ordinary
 * buffered writes.
 *
 * Why: a conversion writes gigabytes once and never reads them back in this process. Through the page cache,
 * those writes ran at 0.4-2 GB/s on the 2-core VMs we measure on, depending on how much dirty data the kernel
 * already held (it throttles writers to its own estimate of the disk's speed); straight to the device they ran at
 * a steady 1.7-2.4 GB/s, already on disk, so the final fsync is short. The cost: whoever reads the file next
 * reads it from the disk, not from memory.
 *
 * Direct I/O needs buffers, file offsets and lengths aligned to the device's block: buffers come from
 * alignedSharedMemory (WebAssembly memory is page-aligned, plain ArrayBuffers are not), the slot writer writes
 * whole slots at slot-aligned offsets and pads the last one (then truncates the file to its real size).
 * Only local block file systems are trusted with it: on network file systems O_DIRECT makes every write a
 * synchronous round trip. A probe write at open time catches devices that want a larger alignment.
 */
import { constants, promises as fs, type StatsFs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Alignment of direct writes: a page, which covers 512-byte and 4 KiB logical blocks. */
export const DIRECT_ALIGN = 4096;

/** statfs magic numbers of local block file systems known to implement O_DIRECT well. */
const LOCAL_BLOCK_FILE_SYSTEMS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
]);

export interface OutputFile {
  handle: FileHandle;
  /** True when opened with O_DIRECT: writes must be aligned (see SlotWriter's `direct` option). */
  direct: boolean;
}

/** Opens (creates or truncates) `file` for writing, with direct I/O when `wantDirect` and the file system allow. */
export async function openOutputFile(file: string, wantDirect: boolean): Promise<OutputFile> {
  const flag = constants.O_DIRECT;
  // MODEL_IMPORT_DIRECT_IO=0 always writes through the page cache (to compare, or for an odd file system).
  if (wantDirect && process.env.MODEL_IMPORT_DIRECT_IO !== '0' && flag !== undefined && (await onLocalBlockFileSystem(path.dirname(file)))) {
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | flag, 0o644);
      if (await acceptsAlignedWrites(handle)) return { handle, direct: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') {
        await handle?.close();
        throw error;
      }
    }
    await handle?.close();
  }
  return { handle: await fs.open(file, 'w'), direct: false };
}

/** Shared memory (so a hash worker can read it without a copy) whose first byte is page-aligned. */
export function alignedSharedMemory(bytes: number): SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(bytes / 65536)); // WebAssembly pages are 64 KiB
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
}

/** The WebAssembly global, typed for the one use here (this project's lib settings leave it out). */
const wasm = (globalThis as unknown as {
  WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer } };
}).WebAssembly;

async function onLocalBlockFileSystem(dir: string): Promise<boolean> {
  let stats: StatsFs;
  try {
    stats = await fs.statfs(dir);
  } catch {
    return false;
  }
  return LOCAL_BLOCK_FILE_SYSTEMS.has(stats.type);
}

/** One aligned block written at offset 0 (overwritten later by the real first bytes). */
async function acceptsAlignedWrites(handle: FileHandle): Promise<boolean> {
  const probe = new Uint8Array(alignedSharedMemory(DIRECT_ALIGN), 0, DIRECT_ALIGN);
  try {
    await handle.write(probe, 0, DIRECT_ALIGN, 0);
    await handle.truncate(0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EINVAL') return false;
    throw error;
  }
}
