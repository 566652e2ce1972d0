import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFloatBytes } from './convert.js';
import { DIRECT_ALIGN, openOutputFile } from './direct-output.js';
import { InlineSha256, WorkerSha256, type ChunkHasher } from './sha256-worker.js';
import { SlotWriter, type SlotWriterOptions } from './slot-writer.js';
import { writeConverted } from './write-converted.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slot-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 29 + seed) & 0xff);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Runs `fill` against a SlotWriter on a fresh file; returns the file's bytes and the writer's digest. */
async function through(name: string, options: SlotWriterOptions, fill: (out: SlotWriter) => Promise<void>, hasher: ChunkHasher = new InlineSha256()) {
  const file = path.join(dir, name);
  const handle = await open(file, 'w');
  try {
    const out = new SlotWriter(handle, hasher, options);
    await fill(out);
    await out.finish();
    return { position: out.position, content: new Uint8Array(await readFile(file)), digest: await hasher.digest() };
  } finally {
    await hasher.close();
    await handle.close();
  }
}

describe('SlotWriter', () => {
  it.for(['inline', 'worker'])('writes and hashes, in order, pieces smaller and larger than a slot (%s hash)', async (kind) => {
    const pieces = [bytes(3, 1), bytes(16, 2), bytes(0, 3), bytes(45, 4), bytes(13, 5), bytes(1, 6)];
    const expected = new Uint8Array(pieces.flatMap((p) => [...p]));
    const { position, content, digest } = await through(`pieces-${kind}`, { slotBytes: 16, slotCount: 3, syncEvery: 32 }, async (out) => {
      for (const p of pieces) await out.write(p);
    }, kind === 'worker' ? new WorkerSha256() : new InlineSha256());
    expect(position).toBe(expected.length);
    expect(content).toEqual(expected);
    expect(digest).toBe(sha(expected));
  });

  it('lets a producer fill the free room of a slot directly', async () => {
    const { content } = await through('room', { slotBytes: 8, slotCount: 2 }, async (out) => {
      for (let k = 0; k < 5; k++) {
        const room = await out.room();
        expect(room.length).toBeGreaterThan(0);
        room.fill(k + 1, 0, Math.min(room.length, 5));
        await out.commit(Math.min(room.length, 5));
      }
    });
    expect(Array.from(content)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5]);
  });

  it('reports a failed write from finish(), and settle() waits without throwing', async () => {
    const file = path.join(dir, 'read-only');
    await writeFile(file, '');
    const handle = await open(file, 'r'); // writes fail (EBADF)
    const hasher = new InlineSha256();
    try {
      const out = new SlotWriter(handle, hasher, { slotBytes: 8, slotCount: 2, syncEvery: 8 });
      const error = await (async () => {
        await out.write(bytes(40, 0));
        await out.finish();
      })().then(() => undefined, (e: unknown) => e);
      expect((error as NodeJS.ErrnoException).code).toBe('EBADF');
      await out.settle();
    } finally {
      await handle.close();
    }
  });
});

describe('SlotWriter with direct I/O', () => {
  // Sizes around the block: the last slot is padded to a whole block for the device, then cut back.
  it.for([3 * 2 * DIRECT_ALIGN, 3 * 2 * DIRECT_ALIGN + 100, 2 * DIRECT_ALIGN - 1, 5])('writes %i bytes exactly (content, size, hash)', async (total, ctx) => {
    const file = path.join(dir, `direct-${total}`);
    const { handle, direct } = await openOutputFile(file, true);
    if (!direct) {
      await handle.close();
      return ctx.skip(); // this file system has no direct I/O: nothing to prove here
    }
    const hasher = new WorkerSha256();
    const expected = bytes(total, 3);
    try {
      const out = new SlotWriter(handle, hasher, { slotBytes: 2 * DIRECT_ALIGN, slotCount: 3, direct: true });
      // Pieces of odd sizes, so slot boundaries fall inside them.
      for (let at = 0; at < total; at += 1000) await out.write(expected.subarray(at, Math.min(total, at + 1000)));
      await out.finish();
      expect(out.position).toBe(total);
      expect(await hasher.digest()).toBe(sha(expected));
    } finally {
      await hasher.close();
      await handle.close();
    }
    expect(new Uint8Array(await readFile(file))).toEqual(expected);
  });

  it('refuses slots that are not whole blocks', async () => {
    const handle = await open(path.join(dir, 'direct-bad-slot'), 'w');
    try {
      expect(() => new SlotWriter(handle, new InlineSha256(), { slotBytes: 1000, slotCount: 2, direct: true })).toThrow(/multiples of 4096/);
    } finally {
      await handle.close();
    }
  });
});

describe('writeConverted', () => {
  const bf16 = bytes(2 * 37, 9); // 37 elements, arbitrary bit patterns (NaNs included) survive widening exactly

  it('converts into the slots across slot boundaries, aligned and misaligned', async () => {
    for (const lead of [0, 4, 1]) {
      const { content } = await through(`convert-${lead}`, { slotBytes: 24, slotCount: 2 }, async (out) => {
        await out.write(bytes(lead, 0));
        await writeConverted(out, bf16.subarray(0, 22), 'BF16', 'F32', 'x');
        await writeConverted(out, bf16.subarray(22), 'BF16', 'F32', 'x');
      });
      expect(content.subarray(lead)).toEqual(convertFloatBytes(bf16, 'BF16', 'F32'));
    }
  });
});
