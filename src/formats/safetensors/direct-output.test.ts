import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignedSharedMemory, DIRECT_ALIGN, openOutputFile } from './direct-output.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'direct-output-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** ext4, xfs, btrfs: where the suite's temp folder supports direct I/O (checked, not assumed). */
async function tmpSupportsDirect(): Promise<boolean> {
  const { type } = await fs.statfs(os.tmpdir());
  return constants.O_DIRECT !== undefined && [0xef53, 0x58465342, 0x9123683e].includes(type);
}

describe('openOutputFile', () => {
  it('opens with O_DIRECT on a local block file system, and only when asked', async () => {
    const supported = await tmpSupportsDirect();
    const wanted = await openOutputFile(path.join(dir, 'a.bin'), true);
    const plain = await openOutputFile(path.join(dir, 'b.bin'), false);
    try {
      expect(wanted.direct).toBe(supported);
      expect(plain.direct).toBe(false);
      // The probe block it wrote was truncated away: the file starts empty, as 'w' would leave it.
      expect((await wanted.handle.stat()).size).toBe(0);
    } finally {
      await wanted.handle.close();
      await plain.handle.close();
    }
  });

  it('truncates an existing file like a plain open for writing', async () => {
    const file = path.join(dir, 'old.bin');
    await fs.writeFile(file, 'previous content');
    const out = await openOutputFile(file, true);
    await out.handle.close();
    expect((await fs.stat(file)).size).toBe(0);
  });

  it('writes through the page cache when MODEL_IMPORT_DIRECT_IO=0', async () => {
    process.env.MODEL_IMPORT_DIRECT_IO = '0';
    try {
      const out = await openOutputFile(path.join(dir, 'off.bin'), true);
      await out.handle.close();
      expect(out.direct).toBe(false);
    } finally {
      delete process.env.MODEL_IMPORT_DIRECT_IO;
    }
  });

  it.runIf(process.platform === 'linux')('falls back to buffered writes on tmpfs (/dev/shm)', async (ctx) => {
    const shm = await fs.mkdtemp('/dev/shm/direct-output-').catch(() => undefined);
    if (!shm) return ctx.skip();
    try {
      const out = await openOutputFile(path.join(shm, 'x.bin'), true);
      await out.handle.close();
      expect(out.direct).toBe(false);
    } finally {
      await fs.rm(shm, { recursive: true, force: true });
    }
  });

  it('gets page-aligned memory from alignedSharedMemory (an unaligned view is refused by the kernel)', async (ctx) => {
    if (!(await tmpSupportsDirect())) return ctx.skip();
    const memory = alignedSharedMemory(2 * DIRECT_ALIGN);
    expect(memory.byteLength).toBeGreaterThanOrEqual(2 * DIRECT_ALIGN);
    const out = await openOutputFile(path.join(dir, 'aligned.bin'), true);
    try {
      expect(out.direct).toBe(true);
      new Uint8Array(memory).fill(7, 0, DIRECT_ALIGN);
      await out.handle.write(new Uint8Array(memory, 0, DIRECT_ALIGN), 0, DIRECT_ALIGN, 0);
      // The same write from 16 bytes further on is misaligned: proof that the alignment above is what made it pass.
      const misaligned = await out.handle.write(new Uint8Array(memory, 16, DIRECT_ALIGN), 0, DIRECT_ALIGN, 0).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
      expect(misaligned).toBe('EINVAL');
    } finally {
      await out.handle.close();
    }
    expect(await fs.readFile(path.join(dir, 'aligned.bin'))).toEqual(Buffer.alloc(DIRECT_ALIGN, 7));
  });
});
