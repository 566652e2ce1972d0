/**
 * Whole Qwen3-Next / Qwen3.5 decoders (tiny, seeded: three Gated DeltaNet layers then one gated attention layer)
 * through the kit's graph in onnxruntime-node against the reference forward: a left-padded prefill and decode
 * steps through past_conv / past_recurrent / past_key_values, and the reference's own incremental decoding
 * against the whole sequence.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../../src/index.js';
import { ModelWeights, ReferenceModel, readForwardDims, argmax } from '../reference/index.js';
import { writeSeededModel, type SeededModelOptions } from '../testing/write-seeded-model.js';
import { emptyCache, logitsRow, maxAbsDiff, runDecoder, type KvShape } from '../testing/run-decoder.js';
import { buildDecoderGraph, defaultSessionOptions } from './index.js';
import { qwenDims } from '../../../arch-qwen/test/family-dims.js';

const TOLERANCE = 1e-4;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kit-hybrid-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const IDS = [
  [11, 42, 7, 93, 3, 50, 64],
  [0, 0, 0, 23, 5, 77, 20],
];
const MASK = [
  [1, 1, 1, 1, 1, 1, 1],
  [0, 0, 0, 1, 1, 1, 1],
];

type Case = [string, Omit<SeededModelOptions, 'seed'>];
const CASES: Case[] = [
  ['qwen3_next (fused GDN projections, MoE with shared expert, per-expert tensors)', { family: 'qwen3_next', dtype: 'bf16', tied: false }],
  ['qwen3_5 wrapper (split projections, model.language_model prefix, no position_ids)', { family: 'qwen3_5', dtype: 'bf16', tied: false, wrapperExtras: true }],
  ['qwen3_5 wrapper, tied, f32', { family: 'qwen3_5', dtype: 'f32', tied: true }],
  ['qwen3_5 bf16 with A_log and the gated norm in float32 (mixed dtypes)', { family: 'qwen3_5', dtype: 'bf16', tied: false, float32Tensors: (name) => /linear_attn\.(A_log|norm\.weight)$/.test(name) }],
  ['qwen3_5_moe wrapper (fused 3-D experts, every layer sparse)', { family: 'qwen3_5_moe', dtype: 'bf16', tied: false, expertLayout: 'fused' }],
];

async function prepare(name: string, options: Omit<SeededModelOptions, 'seed'>, seed = 7) {
  const dir = join(root, name.replace(/[^a-z0-9_]+/gi, '-'));
  await writeSeededModel(dir, { seed, ...options });
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
  const result = await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
  const session = await ort.InferenceSession.create(join(dir, result.graphPath), defaultSessionOptions);
  const dims = readForwardDims(config);
  const kv: KvShape = { layers: dims.layers, kvHeads: dims.kvHeads, headDim: dims.headDim };
  const reference = await ReferenceModel.load(dir, { cacheWeights: true });
  return { dir, session, kv, dims, result, reference };
}

describe('hybrid decoder graph == reference forward, prefill and decode', () => {
  it.each(CASES)('%s', async (name, options) => {
    const { dir, session, kv, dims, result, reference } = await prepare(name, options);
    try {
      if (options.float32Tensors) {
        const weights = await ModelWeights.open(dir);
        expect(weights.locate(`${dims.tensorPrefix}.layers.0.linear_attn.A_log`).dtype).toBe('F32');
        expect(weights.locate(`${dims.tensorPrefix}.layers.0.linear_attn.conv1d.weight`).dtype).toBe('BF16');
      }
      expect(session.inputNames.includes('position_ids')).toBe(!dims.positionsFromMask);
      expect(session.inputNames).toContain('past_conv.0');
      expect(session.inputNames).toContain('past_recurrent.2');
      expect(session.inputNames).toContain('past_key_values.3.key');
      expect(session.inputNames.some((n) => n.startsWith('past_key_values.0'))).toBe(false);
      expect(result.extraGraphs).toEqual(dims.embedsSession ? ['onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'] : []);

      let graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
      let ref = await reference.step(IDS, MASK);
      expect(maxAbsDiff(graph.logits, ref.logits, ref.dims, (b, s) => MASK[b][s] === 1)).toBeLessThan(TOLERANCE);

      let mask = MASK.map((row) => [...row]);
      const all = IDS.map((row) => [...row]);
      for (let step = 0; step < 3; step++) {
        const next = IDS.map((_, b) => [argmax(logitsRow(ref.logits, ref.dims, b, ref.dims[1] - 1))]);
        mask = mask.map((row) => [...row, 1]);
        next.forEach((t, b) => all[b].push(t[0]));
        graph = await runDecoder(session, kv, { inputIds: next, attentionMask: mask, past: graph.cache });
        ref = await reference.step(next, mask, ref.cache);
        expect(maxAbsDiff(graph.logits, ref.logits, ref.dims)).toBeLessThan(TOLERANCE);
      }
      // The reference's incremental decoding equals the whole sequence recomputed.
      const whole = await reference.step(all, mask);
      const lastWhole = IDS.map((_, b) => logitsRow(whole.logits, whole.dims, b, whole.dims[1] - 1));
      const lastStep = IDS.map((_, b) => logitsRow(ref.logits, ref.dims, b, 0));
      for (let b = 0; b < IDS.length; b++) {
        expect(maxAbsDiff(lastWhole[b], lastStep[b], [1, 1, dims.vocab])).toBeLessThan(TOLERANCE); // measured ≤ 7e-6 (chunked vs recurrent rule)
      }
    } finally {
      await session.release();
    }
  });

  it('the Qwen3.5 decoder_model_merged (inputs_embeds) and embed_tokens give the logits of onnx/model.onnx', async () => {
    const { dir, session, kv } = await prepare('merged', { family: 'qwen3_5', dtype: 'bf16', tied: false }, 8);
    const embed = await ort.InferenceSession.create(join(dir, 'onnx', 'embed_tokens.onnx'), defaultSessionOptions);
    const merged = await ort.InferenceSession.create(join(dir, 'onnx', 'decoder_model_merged.onnx'), defaultSessionOptions);
    try {
      const whole = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
      const ids = new ort.Tensor('int64', BigInt64Array.from(IDS.flat().map(BigInt)), [2, IDS[0].length]);
      const { inputs_embeds } = await embed.run({ input_ids: ids });
      const feeds: Record<string, ort.Tensor> = { inputs_embeds, attention_mask: new ort.Tensor('int64', BigInt64Array.from(MASK.flat().map(BigInt)), [2, MASK[0].length]) };
      Object.assign(feeds, emptyCache(merged, 2));
      const out = await merged.run(feeds);
      expect(maxAbsDiff(out.logits.data as Float32Array, whole.logits, whole.dims, (b, s) => MASK[b][s] === 1)).toBe(0);
    } finally {
      await Promise.all([session.release(), embed.release(), merged.release()]);
    }
  });
});
