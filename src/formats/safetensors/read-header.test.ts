import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { MAX_HEADER_LENGTH, parseHeaderLength, readSafetensorsHeader } from './read-header.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st-header-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file laid out by hand exactly as the format describes: u64 LE length, header bytes, data. */
function build(header: string | Uint8Array, data: Uint8Array | number = 0, lengthOverride?: bigint): Uint8Array {
  const headerBytes = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(dataBytes, 8 + headerBytes.length);
  return out;
}

let counter = 0;
async function put(bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, `case-${counter++}.safetensors`);
  await writeFile(file, bytes);
  return file;
}

async function refusal(bytes: Uint8Array): Promise<string> {
  const file = await put(bytes);
  const before = await readdir(dir);
  const error = await readSafetensorsHeader(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isModelImportError(error), `expected a refusal, got ${String(error)}`).toBe(true);
  if (!isModelImportError(error)) throw new Error('unreachable');
  expect(error.code).toBe('BAD_INPUT');
  expect(error.message).not.toContain('\n');
  expect(error.message.startsWith(`${path.basename(file)}: `)).toBe(true);
  expect(error.hint).toBeTruthy();
  expect(await readdir(dir)).toEqual(before); // nothing written
  return error.message;
}

const t = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

describe('readSafetensorsHeader: well-formed files', () => {
  it('reads a header written by hand exactly as the reference describes', async () => {
    // Two F32 tensors and one BF16, metadata first, header padded with spaces to a multiple of 8.
    let json = JSON.stringify({
      __metadata__: { format: 'pt' },
      'b.weight': t('F32', [2, 3], [0, 24]),
      'a.bias': t('BF16', [3], [24, 30]),
      scalar: t('I64', [], [30, 38]),
      empty: t('F32', [0, 4], [38, 38]),
    });
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const data = new Uint8Array(38).map((_, i) => i);
    const file = await put(build(json, data));
    const header = await readSafetensorsHeader(file);
    expect(header.headerLength).toBe(json.length);
    expect(header.dataStart).toBe(8 + json.length);
    expect(header.fileSize).toBe(8 + json.length + 38);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors.map((x) => [x.name, x.dtype, x.shape, x.begin, x.end])).toEqual([
      ['b.weight', 'F32', [2, 3], 0, 24],
      ['a.bias', 'BF16', [3], 24, 30],
      ['scalar', 'I64', [], 30, 38],
      ['empty', 'F32', [0, 4], 38, 38],
    ]);
    expect(header.tensors[1].fileOffset).toBe(8 + json.length + 24);
  });

  it('sorts tensors by offset whatever the key order, accepts leading/trailing whitespace and no metadata', async () => {
    const json = `\n  {"z":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"y":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}   \t`;
    const header = await readSafetensorsHeader(await put(build(json, 4)));
    expect(header.tensors.map((x) => x.name)).toEqual(['y', 'z']);
    expect(header.metadata).toEqual({});
  });

  it('accepts sub-byte dtypes when the bits make whole bytes, and an empty header object', async () => {
    const header = await readSafetensorsHeader(await put(build('{"f4":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}', 2)));
    expect(header.tensors[0].dtype).toBe('F4');
    expect((await readSafetensorsHeader(await put(build('{}')))).tensors).toEqual([]);
  });
});

describe('readSafetensorsHeader: hostile headers, one clear error each', () => {
  it('file shorter than 8 bytes', async () => {
    expect(await refusal(new Uint8Array(5))).toMatch(/too small/);
  });

  it('header length 2^60 is refused before allocating', async () => {
    expect(await refusal(build('{}', 0, 1n << 60n))).toMatch(/header length 1152921504606846976 exceeds the 100000000-byte limit/);
  });

  it('header length past the end of the file', async () => {
    expect(await refusal(build('{}', 0, 1000n))).toMatch(/header length 1000 runs past the end/);
    expect(() => parseHeaderLength(build('{}', 0, BigInt(MAX_HEADER_LENGTH)).subarray(0, 8), 1e9, 'x')).not.toThrow();
  });

  it('overlapping offsets', async () => {
    const json = JSON.stringify({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) });
    expect(await refusal(build(json, 12))).toMatch(/tensor "b" data_offsets \[4, 12\] overlap tensor "a"/);
  });

  it('gap between tensors, and a gap at the start', async () => {
    const gap = JSON.stringify({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [12, 20]) });
    expect(await refusal(build(gap, 20))).toMatch(/tensor "b" starts at 12, leaving a gap of 4 bytes after tensor "a"/);
    const start = JSON.stringify({ a: t('F32', [1], [4, 8]) });
    expect(await refusal(build(start, 8))).toMatch(/gap of 4 bytes at the start of the data/);
  });

  it('offsets beyond the end of the file', async () => {
    const json = JSON.stringify({ a: t('F32', [4], [0, 16]) });
    expect(await refusal(build(json, 10))).toMatch(/tensor "a" ends at byte \d+ but the file has only \d+ bytes/);
  });

  it('trailing bytes after the last tensor', async () => {
    const json = JSON.stringify({ a: t('F32', [1], [0, 4]) });
    expect(await refusal(build(json, 7))).toMatch(/3 trailing bytes after the last tensor/);
  });

  it('unknown dtype', async () => {
    const json = JSON.stringify({ a: t('F128', [1], [0, 16]) });
    expect(await refusal(build(json, 16))).toMatch(/tensor "a" has unknown dtype "F128"/);
  });

  it('shape whose byte size overflows', async () => {
    const json = JSON.stringify({ a: t('F32', [2 ** 40, 2 ** 40], [0, 8]) });
    expect(await refusal(build(json, 8))).toMatch(/tensor "a" shape \[1099511627776, 1099511627776\] of F32 needs 4835703278458516698824704 bytes \(overflows/);
  });

  it('negative, fractional, huge and non-numeric shapes', async () => {
    for (const shape of [[-1, 2], [1.5], [2 ** 60], ['2'], 'abc', null]) {
      const json = JSON.stringify({ a: t('U8', shape, [0, 2]) });
      expect(await refusal(build(json, 2))).toMatch(/tensor "a" shape .* is not a list of non-negative integers/);
    }
  });

  it('bad data_offsets', async () => {
    for (const offsets of [[0], [0, 1, 2], [-1, 1], [0, 2 ** 60], [2, 0], 'x']) {
      const json = JSON.stringify({ a: t('U8', [1], offsets) });
      expect(await refusal(build(json, 1))).toMatch(/tensor "a" data_offsets/);
    }
  });

  it('sub-byte tensor that is not a whole number of bytes', async () => {
    const json = JSON.stringify({ a: t('F4', [3], [0, 2]) });
    expect(await refusal(build(json, 2))).toMatch(/not a whole number of bytes/);
  });

  it('duplicate tensor names, even when spelled with escapes', async () => {
    const json = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await refusal(build(json, 2))).toMatch(/duplicate tensor name "a"/);
  });

  it('duplicate keys inside an entry', async () => {
    const json = '{"a":{"dtype":"U8","shape":[1],"shape":[2],"data_offsets":[0,2]}}';
    expect(await refusal(build(json, 2))).toMatch(/duplicate key "shape" in "a"/);
  });

  it('non-string metadata values and non-object metadata', async () => {
    expect(await refusal(build('{"__metadata__":{"format":"pt","n":3}}'))).toMatch(/__metadata__ "n" is a number, not a string/);
    expect(await refusal(build('{"__metadata__":["pt"]}'))).toMatch(/__metadata__ must be an object/);
  });

  it('entry that is not an object', async () => {
    expect(await refusal(build('{"a":[1,2]}'))).toMatch(/tensor "a" is an array/);
  });

  it('invalid UTF-8', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"a'), 0xff, 0xfe, ...new TextEncoder().encode('":1}')]);
    expect(await refusal(build(bytes))).toMatch(/header is not valid UTF-8/);
  });

  it('not JSON, JSON that is not an object, and a BOM', async () => {
    expect(await refusal(build('{"a": {'))).toMatch(/header is not valid JSON/);
    expect(await refusal(build('[1,2,3]'))).toMatch(/header is JSON array, not an object/);
    expect(await refusal(build('\uFEFF{}'))).toMatch(/not valid JSON/);
    expect(await refusal(build('{}\0\0\0\0\0\0'))).toMatch(/not valid JSON/);
  });
});
