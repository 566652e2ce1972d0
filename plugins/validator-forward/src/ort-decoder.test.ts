import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTinyModelDir } from '../test-support/tiny-model.js';
import { OrtDecoder } from './ort-decoder.js';
import { KeptTensor, OnnxProcess } from './onnx-process.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const ids = [5, 17, 42, 90, 3, 25];
const ones = (n: number) => Array.from({ length: n }, () => 1);

describe('OrtDecoder in the onnxruntime process', () => {
  it('keeps the cache there (only logits cross), continues from it and from its rows as the in-process decoder does', async () => {
    const { dir } = await makeTinyModelDir({ seed: 3 });
    dirs.push(dir);
    const graph = path.join(dir, 'onnx', 'model.onnx');
    const onnx = OnnxProcess.start();
    try {
      const here = await OrtDecoder.open(graph, {});
      const there = await OrtDecoder.open(graph, {}, onnx);
      // A batch of two (the prompt and its left-padded prefix), then one row continued alone.
      const batched = { ids: [ids, [ids[0], ...ids.slice(0, -1)]], mask: [ones(6), [0, ...ones(5)]] };
      const [hereA] = await here.run([batched]);
      const [thereA] = await there.run([batched]);
      expect(Object.values(thereA.cache).every((t) => t instanceof KeptTensor)).toBe(true);
      expect(Object.values(hereA.cache).some((t) => t instanceof KeptTensor)).toBe(false);
      expect(Array.from(thereA.logits)).toEqual(Array.from(hereA.logits));

      const step = (cache: typeof hereA.cache) => ({ ids: [[7]], mask: [ones(7)], past: cache });
      const [hereB] = await here.run([step(await here.cacheRows(hereA.cache, 0, 1))]);
      const [thereB] = await there.run([step(await there.cacheRows(thereA.cache, 0, 1))]);
      const rowCache = Object.values(await there.cacheRows(thereA.cache, 0, 1))[0] as KeptTensor;
      expect(rowCache.dims[0]).toBe(1);
      expect(Array.from(thereB.logits)).toEqual(Array.from(hereB.logits));
      await Promise.all([here.release(), there.release()]);
      // Released: the session and the tensors it kept are gone.
      await expect(there.run([step(thereA.cache)])).rejects.toThrow();
    } finally {
      await onnx.close();
    }
  });
});
