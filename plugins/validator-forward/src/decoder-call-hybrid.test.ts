/**
 * The validator drives hybrid graphs (Qwen3-Next / Qwen3.5: Gated DeltaNet layers with past_conv.N /
 * past_recurrent.N beside attention layers' past_key_values.N) from their declarations alone: all-zero first
 * states shaped from the input metadata, present_* fed back as past_*, mask-derived positions when the graph takes
 * no position_ids. A kit-built tiny model's prefill and a decode step continuing from it must match the kit's
 * reference forward.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../src/index.js';
import { buildDecoderGraph, defaultSessionOptions, ReferenceModel } from '../../decoder-kit/index.js';
import { qwenDims } from '../../arch-qwen/test/family-dims.js';
import { writeSeededModel, maxAbsDiff } from '../../decoder-kit/testing.js';
import { OrtDecoder } from './ort-decoder.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('DecoderSignature with recurrent-state inputs', () => {
  it.each(['qwen3_next', 'qwen3_5'] as const)('%s: prefill + decode from the cache == the reference', async (family) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'validator-hybrid-'));
    dirs.push(dir);
    await writeSeededModel(dir, { family, dtype: 'bf16', tied: false, seed: 61 });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
    const built = await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    const decoder = await OrtDecoder.open(path.join(dir, built.graphPath), defaultSessionOptions as Record<string, unknown>);
    try {
      expect(decoder.hasCache).toBe(true);
      const ids = [[5, 9, 14, 2, 33], [0, 0, 7, 8, 21]];
      const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
      const next = [[40], [41]];
      const longer = mask.map((row) => [...row, 1]);
      const [prefill, decode] = await decoder.run([{ ids, mask }, { ids: next, mask: longer, past: 0 }]);
      const reference = await ReferenceModel.load(dir, { cacheWeights: true });
      const refPrefill = await reference.step(ids, mask);
      const refDecode = await reference.step(next, longer, refPrefill.cache);
      expect(maxAbsDiff(prefill.logits, refPrefill.logits, refPrefill.dims, (b, s) => mask[b][s] === 1)).toBeLessThan(1e-4);
      expect(maxAbsDiff(decode.logits, refDecode.logits, refDecode.dims)).toBeLessThan(1e-4);
      expect(Object.keys(prefill.cache)).toEqual(expect.arrayContaining(['past_conv.0', 'past_recurrent.0', 'past_key_values.3.key']));
    } finally {
      await decoder.release();
    }
  });
});
