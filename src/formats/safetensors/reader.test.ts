import { open, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { BufferRing } from './buffer-ring.js';
import { encodeSafetensors } from './encode.js';
import { planSafetensors } from './plan.js';
import { readSafetensorsHeader } from './read-header.js';
import { SafetensorsReader, readTensor, readTensorChunks } from './reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff);

async function fixture(): Promise<string> {
  const file = path.join(dir, 'model.safetensors');
  await writeFile(
    file,
    encodeSafetensors([
      { name: 'w', dtype: 'BF16', shape: [1000], data: bytes(2000, 1) },
      { name: 'f4', dtype: 'F6_E2M3', shape: [8], data: bytes(6, 2) },
      { name: 'e', dtype: 'F32', shape: [0], data: new Uint8Array(0) },
    ]),
  );
  return file;
}

describe('reading tensors', () => {
  it('readTensor returns the exact bytes in an aligned buffer', async () => {
    const file = await fixture();
    const header = await readSafetensorsHeader(file);
    const w = header.tensors.find((t) => t.name === 'w')!;
    const data = await readTensor(file, w);
    expect(data).toEqual(bytes(2000, 1));
    expect(data.byteOffset).toBe(0);
    expect(new Uint16Array(data.buffer).length).toBe(1000);
  });

  it('chunks whole elements and never exceeds the chunk size', async () => {
    const file = await fixture();
    const header = await readSafetensorsHeader(file);
    const w = header.tensors.find((t) => t.name === 'w')!;
    const sizes: number[] = [];
    const joined: number[] = [];
    for await (const chunk of readTensorChunks(file, w, { chunkBytes: 333 })) {
      sizes.push(chunk.length);
      joined.push(...chunk);
    }
    expect(sizes.every((n) => n <= 333 && n % 2 === 0)).toBe(true);
    expect(new Uint8Array(joined)).toEqual(bytes(2000, 1));
    // F6: 4 elements per 3 bytes, so chunks are multiples of 3.
    const f6 = header.tensors.find((t) => t.name === 'f4')!;
    const f6sizes: number[] = [];
    for await (const chunk of readTensorChunks(file, f6, { chunkBytes: 4 })) f6sizes.push(chunk.length);
    expect(f6sizes).toEqual([3, 3]);
  });

  it('reads chunks into a ring of reusable buffers when given one', async () => {
    const reader = await SafetensorsReader.open(await fixture());
    try {
      const ring = new BufferRing(2);
      const joined: number[] = [];
      const memory: ArrayBufferLike[] = [];
      for await (const chunk of reader.chunks('w', { chunkBytes: 600, ring })) {
        joined.push(...chunk); // used before asking for the next chunk, as the ring requires
        memory.push(chunk.buffer);
      }
      expect(new Uint8Array(joined)).toEqual(bytes(2000, 1));
      expect(memory.length).toBe(4);
      expect(new Set(memory).size).toBe(2);
      expect(memory[2]).toBe(memory[0]);
    } finally {
      await reader.close();
    }
  });

  it('SafetensorsReader iterates every tensor in file order, chunk by chunk', async () => {
    const reader = await SafetensorsReader.open(await fixture());
    try {
      const seen: Array<[string, number, number, boolean]> = [];
      for await (const c of reader.iterateChunks({ chunkBytes: 1024 })) seen.push([c.tensor.name, c.offset, c.bytes.length, c.last]);
      expect(seen).toEqual([
        ['e', 0, 0, true], // empty tensors sit at their offset like any other
        ['w', 0, 1024, false],
        ['w', 1024, 976, true],
        ['f4', 0, 6, true],
      ]);
      expect(reader.has('w')).toBe(true);
      expect(() => reader.get('nope')).toThrow(/has no tensor "nope"/);
      const chunks: Uint8Array[] = [];
      for await (const c of reader.chunks('f4', { chunkBytes: 3 })) chunks.push(c);
      expect(chunks.length).toBe(2);
    } finally {
      await reader.close();
    }
  });

  it('a file truncated after its header was read gives a clear error, not zeros', async () => {
    const file = await fixture();
    const header = await readSafetensorsHeader(file);
    await truncate(file, header.fileSize - 100);
    const error = await readTensor(file, header.tensors.find((t) => t.name === 'w')!).catch((e: unknown) => e);
    expect(isModelImportError(error) && error.code === 'BAD_INPUT').toBe(true);
    expect((error as Error).message).toMatch(/unexpected end of file/);
  });

  it('works with files and offsets beyond 4 GiB (sparse file, positional reads)', async () => {
    const file = path.join(dir, 'huge.safetensors');
    const hugeElements = 2 ** 30 + 2; // F32: 4 GiB + 8 bytes
    const plan = planSafetensors(
      [
        { name: 'huge', dtype: 'F32', shape: [hugeElements] },
        { name: 'tail', dtype: 'U8', shape: [16] },
      ],
      { format: 'pt' },
      file,
    );
    await writeFile(file, plan.prefix);
    await truncate(file, plan.fileSize); // sparse: no 4 GiB actually written
    const tailInfo = plan.tensors.find((t) => t.name === 'tail')!;
    expect(tailInfo.fileOffset).toBeGreaterThan(2 ** 32);
    const handle = await open(file, 'r+');
    await handle.write(bytes(16, 9), 0, 16, tailInfo.fileOffset);
    // One marker byte in the middle of the huge tensor, past 2^32.
    await handle.write(new Uint8Array([0xab]), 0, 1, plan.dataStart + 2 ** 32 + 4); // last 8 bytes of 'huge', index 4
    await handle.close();

    const reader = await SafetensorsReader.open(file);
    try {
      expect(reader.header.fileSize).toBe(plan.fileSize);
      expect(reader.get('huge').end).toBe(hugeElements * 4);
      expect(await reader.read('tail')).toEqual(bytes(16, 9));
      // The chunk API past 2^32, on the last 16 bytes of the huge tensor (reading all 4 GiB would take too long here).
      const huge = reader.get('huge');
      const end = { ...huge, begin: huge.end - 16, fileOffset: huge.fileOffset + huge.end - 16, shape: [4] };
      const chunks: Uint8Array[] = [];
      for await (const chunk of reader.chunks(end, { chunkBytes: 8 })) chunks.push(chunk);
      expect(chunks.map((c) => c.length)).toEqual([8, 8]);
      expect(chunks[1][4]).toBe(0xab);
    } finally {
      await reader.close();
    }
  }, 120_000);
});
