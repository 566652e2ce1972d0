import type { FileHandle } from 'node:fs/promises';
import { badSafetensors } from './bad-file.js';

/** One read call is capped (the OS and Node cap a single read near 2 GiB); larger reads loop. */
const MAX_READ = 1 << 30;

/**
 * Fills `target` from `position` with positional reads. A short read means the file shrank after its header was
 * validated (or the header lied): a BAD_INPUT error, never a silently zero-filled tensor.
 */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(MAX_READ, target.length - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw badSafetensors(file, `unexpected end of file at byte ${position + done} (the file is shorter than its header says)`);
    }
    done += bytesRead;
  }
}
