import { mkdtemp, readFile, readdir, rm, stat, statfs } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { convertFloatBytes } from './convert.js';
import { encodeSafetensors } from './encode.js';
import { readSafetensorsHeader } from './read-header.js';
import { SafetensorsReader, readTensor } from './reader.js';
import { writeSafetensors, type TensorToWrite } from './writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

function sample(): TensorToWrite[] {
  return [
    { name: 'model.norm.weight', dtype: 'BF16', shape: [5], data: bytes(10, 1) },
    { name: 'b', dtype: 'F32', shape: [2, 3], data: bytes(24, 2) },
    { name: 'a', dtype: 'F32', shape: [1], data: bytes(4, 3) },
    { name: 'ids', dtype: 'I64', shape: [3], data: bytes(24, 4) },
    { name: 'flags', dtype: 'BOOL', shape: [3], data: bytes(3, 5) },
    { name: 'empty', dtype: 'F16', shape: [0, 7], data: new Uint8Array(0) },
    { name: 'scalar', dtype: 'U8', shape: [], data: bytes(1, 6) },
  ];
}

describe('writeSafetensors', () => {
  it('round-trips names, dtypes, shapes, bytes and metadata', async () => {
    const file = path.join(dir, 'round.safetensors');
    const written = await writeSafetensors(file, sample(), { format: 'pt' });
    const header = await readSafetensorsHeader(file);
    expect(header.tensors).toEqual(written.tensors);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.fileSize).toBe((await stat(file)).size);
    expect(written.sha256).toBe(createHash('sha256').update(await readFile(file)).digest('hex'));
    for (const tensor of sample()) {
      const info = header.tensors.find((x) => x.name === tensor.name)!;
      expect(info.dtype).toBe(tensor.dtype);
      expect(info.shape).toEqual(tensor.shape);
      expect(await readTensor(file, info)).toEqual(tensor.data);
    }
  });

  it('orders like the official writer (descending dtype alignment, then name) and pads the header with spaces', async () => {
    const file = path.join(dir, 'order.safetensors');
    await writeSafetensors(file, sample());
    const header = await readSafetensorsHeader(file);
    expect(header.tensors.filter((x) => x.end > x.begin).map((x) => x.name)).toEqual([
      'ids', 'a', 'b', 'model.norm.weight', 'scalar', 'flags',
    ]);
    expect(header.headerLength % 8).toBe(0);
    const raw = await readFile(file);
    const text = raw.subarray(8, header.dataStart).toString('utf8');
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    for (const t of header.tensors) {
      const size = { I64: 8, F32: 4, BF16: 2, F16: 2, U8: 1, BOOL: 1 }[t.dtype as string]!;
      expect(t.fileOffset % size).toBe(0); // every tensor aligned to its element size
    }
    // No __metadata__ key when none is given.
    expect(text).not.toContain('__metadata__');
  });

  it('is byte-identical to encodeSafetensors for the same input', async () => {
    const file = path.join(dir, 'same.safetensors');
    await writeSafetensors(file, sample(), { format: 'pt' });
    expect(new Uint8Array(await readFile(file))).toEqual(encodeSafetensors(sample() as Array<TensorToWrite & { data: Uint8Array }>, { format: 'pt' }));
  });

  it('streams tensors from generators and async iterables of tensors', async () => {
    const file = path.join(dir, 'stream.safetensors');
    const big = 3 * 1024 * 1024 + 6; // several chunks, not a multiple of the chunk size
    const produced: number[] = [];
    async function* tensors(): AsyncGenerator<TensorToWrite> {
      yield {
        name: 'big',
        dtype: 'BF16',
        shape: [big / 2],
        data: function* () {
          for (let offset = 0; offset < big; offset += 1_000_003) {
            const n = Math.min(1_000_003, big - offset);
            produced.push(n);
            yield bytes(n, offset);
          }
        },
      };
      yield { name: 'small', dtype: 'F32', shape: [2], data: async function* () { yield bytes(3, 0); yield bytes(5, 3); } };
    }
    await writeSafetensors(file, tensors());
    expect(produced.length).toBe(4);
    const reader = await SafetensorsReader.open(file);
    try {
      const data = await reader.read('big');
      expect(data.length).toBe(big);
      expect(data.subarray(1_000_003, 1_000_013)).toEqual(bytes(1_000_003, 1_000_003).subarray(0, 10));
      expect(await reader.read('small')).toEqual(new Uint8Array([...bytes(3, 0), ...bytes(5, 3)]));
    } finally {
      await reader.close();
    }
  });

  it('converts tensors given `from` another float dtype, from buffers and from chunks that split elements', async () => {
    const file = path.join(dir, 'from.safetensors');
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc020, 0x4049, 0x0000, 0x7f80, 0x3a83]).buffer);
    const written = await writeSafetensors(file, [
      { name: 'wide', dtype: 'F32', from: 'BF16', shape: [2, 3], data: function* () { yield bf16.subarray(0, 3); yield bf16.subarray(3, 7); yield bf16.subarray(7); } },
      { name: 'half', dtype: 'F16', from: 'BF16', shape: [3], data: bf16.subarray(0, 6) },
      { name: 'same', dtype: 'BF16', from: 'BF16', shape: [6], data: bf16 },
    ]);
    expect(written.sha256).toBe(createHash('sha256').update(await readFile(file)).digest('hex'));
    const reader = await SafetensorsReader.open(file);
    try {
      expect(await reader.read('wide')).toEqual(convertFloatBytes(bf16, 'BF16', 'F32'));
      expect(await reader.read('half')).toEqual(convertFloatBytes(bf16.subarray(0, 6), 'BF16', 'F16'));
      expect(await reader.read('same')).toEqual(bf16);
    } finally {
      await reader.close();
    }
  });

  it('refuses conversions it cannot make, counting the source in its own dtype', async () => {
    expect(await refuse('from-int.safetensors', [{ name: 'x', dtype: 'I32', from: 'F32', shape: [1], data: bytes(4, 0) }])).toMatch(/cannot be converted from F32 to I32/);
    expect(await refuse('from-len.safetensors', [{ name: 'x', dtype: 'F32', from: 'BF16', shape: [2], data: bytes(8, 0) }])).toMatch(/has 8 bytes, its shape needs 4/);
    expect(await refuse('from-short.safetensors', [{ name: 'x', dtype: 'F32', from: 'BF16', shape: [2], data: function* () { yield bytes(3, 0); } }])).toMatch(/source gave only 3 bytes, its shape needs 4/);
    const overflow = new Uint8Array(new Float32Array([1, 1e6]).buffer);
    const error = await writeSafetensors(path.join(dir, 'from-f16.safetensors'), [{ name: 'x', dtype: 'F16', from: 'F32', shape: [2], data: overflow }]).then(() => undefined, (e: unknown) => e);
    expect((error as Error).message).toMatch(/^tensor x: element 1 is 1000000, beyond float16's range/);
    expect((await readdir(dir)).includes('from-f16.safetensors')).toBe(false);
  });

  it('hashes a large file (worker thread, many slots) exactly as a second read would', async () => {
    const file = path.join(dir, 'large.safetensors');
    const chunk = bytes(3 << 20, 11); // 35 MiB of bf16 in 3 MiB chunks -> 70 MiB of f32: above the worker threshold
    const count = (35 << 20) / 2;
    const written = await writeSafetensors(file, [
      { name: 'big', dtype: 'F32', from: 'BF16', shape: [count], data: function* () { for (let n = 0; n < 35 << 20; n += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, (35 << 20) - n)); } },
      { name: 'tail', dtype: 'U8', shape: [5], data: bytes(5, 1) },
    ]);
    const content = await readFile(file);
    expect(written.fileSize).toBe(content.length);
    expect(written.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    // Files this large go to the device directly where the file system allows it (ext4, xfs, btrfs: see direct-output.ts).
    const { type } = await statfs(dir);
    expect(written.directIo).toBe(process.platform === 'linux' && [0xef53, 0x58465342, 0x9123683e].includes(type));
    const reader = await SafetensorsReader.open(file);
    try {
      const info = reader.get('big');
      expect(new Uint8Array(content.subarray(info.fileOffset + (6 << 20), info.fileOffset + (6 << 20) + 64))).toEqual(convertFloatBytes(chunk.subarray(0, 32), 'BF16', 'F32'));
    } finally {
      await reader.close();
    }
    await rm(file);
  });

  const refuse = async (name: string, tensors: TensorToWrite[], metadata?: Record<string, string>) => {
    const file = path.join(dir, name);
    const error = await writeSafetensors(file, tensors, metadata).then(() => undefined, (e: unknown) => e);
    expect(isModelImportError(error)).toBe(true);
    expect((await readdir(dir)).includes(name)).toBe(false); // nothing left behind
    return (error as Error).message;
  };

  it('refuses bad input before creating the file', async () => {
    expect(await refuse('dup.safetensors', [...sample(), sample()[0]])).toMatch(/tensor "model.norm.weight" is given twice/);
    expect(await refuse('dtype.safetensors', [{ name: 'x', dtype: 'Q4', shape: [1], data: bytes(1, 0) }])).toMatch(/unknown dtype/);
    expect(await refuse('shape.safetensors', [{ name: 'x', dtype: 'U8', shape: [-1], data: bytes(1, 0) }])).toMatch(/shape/);
    expect(await refuse('len.safetensors', [{ name: 'x', dtype: 'F32', shape: [2], data: bytes(7, 0) }])).toMatch(/has 7 bytes, its shape needs 8/);
    expect(await refuse('meta.safetensors', sample(), { n: 1 as unknown as string })).toMatch(/__metadata__ "n" is not a string/);
    expect(await refuse('reserved.safetensors', [{ name: '__metadata__', dtype: 'U8', shape: [1], data: bytes(1, 0) }])).toMatch(/not a usable tensor name/);
  });

  it('refuses headers above 100 MB', async () => {
    const huge = 'x'.repeat(100_000_001);
    expect(await refuse('huge.safetensors', sample(), { huge })).toMatch(/above the 100000000-byte limit/);
  });

  it('removes the partial file when a chunk source gives the wrong byte count or throws', async () => {
    const short: TensorToWrite = { name: 'x', dtype: 'F32', shape: [4], data: function* () { yield bytes(8, 0); } };
    expect(await refuse('short.safetensors', [short])).toMatch(/tensor "x" source gave only 8 bytes, its shape needs 16/);
    const long: TensorToWrite = { name: 'x', dtype: 'F32', shape: [1], data: function* () { yield bytes(4, 0); yield bytes(4, 0); } };
    expect(await refuse('long.safetensors', [long])).toMatch(/more than 4 bytes/);
    const failing: TensorToWrite = {
      name: 'x', dtype: 'F32', shape: [1],
      data: async function* () { yield bytes(2, 0); throw new Error('source broke'); },
    };
    const file = path.join(dir, 'throws.safetensors');
    await expect(writeSafetensors(file, [failing])).rejects.toThrow('source broke');
    expect((await readdir(dir)).includes('throws.safetensors')).toBe(false);
  });

  it('stops when aborted and leaves nothing behind', async () => {
    const controller = new AbortController();
    const file = path.join(dir, 'abort.safetensors');
    const tensor: TensorToWrite = {
      name: 'x', dtype: 'U8', shape: [10],
      data: function* () { yield bytes(5, 0); controller.abort(); yield bytes(5, 0); },
    };
    await expect(writeSafetensors(file, [tensor], undefined, { signal: controller.signal })).rejects.toThrow();
    expect((await readdir(dir)).includes('abort.safetensors')).toBe(false);
  });
});
