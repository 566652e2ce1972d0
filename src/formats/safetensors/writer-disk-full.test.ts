/**
 * A disk that fills up while a large file is written with direct I/O: the error is the file system's ENOSPC (which
 * the kernel reports as exit 7), the partial file is removed and the space comes back. The file system is a small
 * ext4 image mounted on a loop device, so this needs root, mkfs.ext4 and loop devices; where any is missing the
 * case is skipped and says why. (Buffered writes filling a tmpfs are covered by test/reliability/disk-full.)
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from './writer.js';

const run = promisify(execFile);
let root: string;
let mounted: string | undefined;
let skipReason: string | undefined;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'writer-disk-full-'));
  const image = path.join(root, 'ext4.img');
  const mountPoint = path.join(root, 'disk');
  try {
    await fs.mkdir(mountPoint);
    await fs.writeFile(image, '');
    await fs.truncate(image, 128 << 20);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, mountPoint]);
    mounted = mountPoint;
  } catch (error) {
    skipReason = `cannot mount a small ext4 image here (${String((error as Error).message).split('\n')[0]})`;
    console.log(`writer-disk-full: SKIPPED: ${skipReason}`);
  }
});

afterAll(async () => {
  if (mounted) await run('umount', [mounted]).catch(() => run('umount', ['-l', mounted!]));
  await fs.rm(root, { recursive: true, force: true });
});

describe('writeSafetensors with direct I/O on a full disk', () => {
  it('fails with ENOSPC, removes the partial file and gives the space back', async (ctx) => {
    if (skipReason) return ctx.skip();
    const disk = mounted!;
    const free = async () => {
      const { bavail, bsize } = await fs.statfs(disk);
      return Number(bavail) * Number(bsize);
    };
    const before = await free();
    const chunk = new Uint8Array(4 << 20).fill(0x3f);
    const elements = 40 << 20; // bf16 in, f32 out: 160 MiB, more than the ~115 MiB the image has
    const error = await writeSafetensors(path.join(disk, 'big.safetensors'), [
      { name: 'w', dtype: 'F32', from: 'BF16', shape: [elements], data: function* () { for (let n = 0; n < elements * 2; n += chunk.length) yield chunk; } },
    ]).then(() => undefined, (e: unknown) => e);
    expect((error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOSPC');
    expect(await fs.readdir(disk)).toEqual(['lost+found']);
    expect(await free()).toBe(before);

    // The same writer succeeds once the file fits, with direct I/O (ext4), and the bytes are right.
    const fits = 16 << 20; // 64 MiB of f32: at the direct I/O threshold, within the free space
    const written = await writeSafetensors(path.join(disk, 'fits.safetensors'), [
      { name: 'w', dtype: 'F32', from: 'BF16', shape: [fits], data: function* () { for (let n = 0; n < fits * 2; n += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, fits * 2 - n)); } },
    ]);
    expect(written.directIo).toBe(true);
    const view = new DataView((await fs.readFile(path.join(disk, 'fits.safetensors'))).buffer);
    expect(view.getUint32(written.dataStart + 4 * 12345, true)).toBe(0x3f3f0000); // bf16 0x3f3f widened: bits << 16
  });
});
