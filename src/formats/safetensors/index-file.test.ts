import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { encodeSafetensors } from './encode.js';
import {
  buildSafetensorsIndex,
  checkSafetensorsIndex,
  parseSafetensorsIndex,
  readShardedSafetensors,
  serializeSafetensorsIndex,
  shardFileName,
  writeSafetensorsIndex,
  type SafetensorsIndex,
} from './index-file.js';
import { readSafetensorsHeader, type SafetensorsHeader } from './read-header.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st-index-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const u8 = (name: string, n: number) => ({ name, dtype: 'U8', shape: [n], data: new Uint8Array(n).fill(n) });

async function sharded(folder: string): Promise<{ index: SafetensorsIndex; headers: Map<string, SafetensorsHeader> }> {
  const shards = [
    [u8('a', 4), u8('b', 8)],
    [u8('c', 16)],
  ];
  const headers = new Map<string, SafetensorsHeader>();
  for (const [k, tensors] of shards.entries()) {
    const name = shardFileName(k + 1, shards.length);
    await writeFile(path.join(folder, name), encodeSafetensors(tensors, { format: 'pt' }));
    headers.set(name, await readSafetensorsHeader(path.join(folder, name)));
  }
  const index = buildSafetensorsIndex([...headers].map(([file, header]) => ({ file, tensors: header.tensors })));
  await writeSafetensorsIndex(path.join(folder, 'model.safetensors.index.json'), index);
  return { index, headers };
}

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(isModelImportError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('model.safetensors.index.json', () => {
  it('names shards like transformers and writes sorted JSON with total_size', async () => {
    expect(shardFileName(1, 3)).toBe('model-00001-of-00003.safetensors');
    const folder = await mkdtemp(path.join(dir, 'ok-'));
    const { index } = await sharded(folder);
    expect(index.metadata.total_size).toBe(28);
    const text = await readFile(path.join(folder, 'model.safetensors.index.json'), 'utf8');
    expect(text).toBe(
      '{\n  "metadata": {\n    "total_size": 28\n  },\n  "weight_map": {\n' +
        '    "a": "model-00001-of-00002.safetensors",\n    "b": "model-00001-of-00002.safetensors",\n' +
        '    "c": "model-00002-of-00002.safetensors"\n  }\n}\n',
    );
    expect(parseSafetensorsIndex(text)).toEqual(index);
    expect(serializeSafetensorsIndex(parseSafetensorsIndex(text))).toBe(text);
    const read = await readShardedSafetensors(path.join(folder, 'model.safetensors.index.json'));
    expect([...read.shards.keys()]).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(read.warnings).toEqual([]);
  });

  it('refuses malformed index files', () => {
    expect(message(() => parseSafetensorsIndex('{'))).toMatch(/is not valid JSON/);
    expect(message(() => parseSafetensorsIndex('{"metadata":{}}'))).toMatch(/"weight_map" is missing/);
    expect(message(() => parseSafetensorsIndex('{"weight_map":{}}'))).toMatch(/lists no tensors/);
    expect(message(() => parseSafetensorsIndex('{"weight_map":{"a":3}}'))).toMatch(/entry "a" is not a file name/);
    expect(message(() => parseSafetensorsIndex('{"weight_map":{"a":"x","a":"y"}}'))).toMatch(/has the key "a" twice in weight_map/);
    expect(message(() => parseSafetensorsIndex('{"metadata":{"total_size":"9"},"weight_map":{"a":"x"}}'))).toMatch(/total_size/);
    expect(message(() => parseSafetensorsIndex('{"weight_map":{"a":"../../etc/passwd"}}'))).toMatch(/Refused shard file/);
    expect(message(() => parseSafetensorsIndex('{"weight_map":{"a":"/abs.safetensors"}}'))).toMatch(/absolute path/);
  });

  it('checks the index against the shard headers', async () => {
    const folder = await mkdtemp(path.join(dir, 'check-'));
    const { index, headers } = await sharded(folder);
    const [first, second] = [...headers.keys()];
    const withMap = (weightMap: Record<string, string>) => ({ metadata: index.metadata, weightMap });
    expect(message(() => checkSafetensorsIndex(withMap({ ...index.weightMap, c: first }), headers))).toMatch(
      /tensor "c" is in model-00002-of-00002.safetensors but the weight_map says model-00001-of-00002.safetensors/,
    );
    const { c: _c, ...withoutC } = index.weightMap;
    expect(message(() => checkSafetensorsIndex(withMap(withoutC), headers))).toMatch(/tensor "c" in .* is missing from the weight_map/);
    expect(message(() => checkSafetensorsIndex(withMap({ ...index.weightMap, d: second }), headers))).toMatch(
      /weight_map puts tensor "d" in model-00002-of-00002.safetensors, which does not hold it/,
    );
    expect(message(() => checkSafetensorsIndex(withMap({ ...index.weightMap, e: 'model-00003-of-00002.safetensors' }), headers))).toMatch(
      /lists shard model-00003-of-00002.safetensors, which is missing/,
    );
    const twice = new Map(headers);
    twice.set(second, { tensors: [...headers.get(second)!.tensors, headers.get(first)!.tensors[0]] } as SafetensorsHeader);
    expect(message(() => checkSafetensorsIndex(index, twice))).toMatch(/tensor "a" appears in both/);
    const off = checkSafetensorsIndex({ metadata: { total_size: 5 }, weightMap: index.weightMap }, headers);
    expect(off.warnings[0]).toMatch(/total_size is 5 but the shards hold 28 bytes/);
  });

  it('reports a missing shard file as a clear error', async () => {
    const folder = await mkdtemp(path.join(dir, 'missing-'));
    await sharded(folder);
    await unlink(path.join(folder, 'model-00002-of-00002.safetensors'));
    const error = await readShardedSafetensors(path.join(folder, 'model.safetensors.index.json')).catch((e: unknown) => e);
    expect(isModelImportError(error) && error.code === 'BAD_INPUT').toBe(true);
    expect((error as Error).message).toBe('model.safetensors.index.json: lists shard model-00002-of-00002.safetensors, which is missing');
  });
});
