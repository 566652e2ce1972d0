/**
 * MoE decoders with fused 3-D experts (tiny, seeded, 8 experts top 2): the graph's gathered branch (few rows:
 * decode) and dense branch (prefill) against the reference forward, through a left-padded 2-row prefill and decode
 * steps of 2 rows and of 1 row. Qwen3-MoE (renormalised top-k), Qwen2-MoE (raw top-k, shared expert) and
 * Qwen3.5-MoE (hybrid, every layer sparse, shared expert).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../../src/index.js';
import { ReferenceModel, readForwardDims, argmax } from '../reference/index.js';
import { writeSeededModel, type SeededModelOptions } from '../testing/write-seeded-model.js';
import { logitsRow, maxAbsDiff, runDecoder, type KvShape } from '../testing/run-decoder.js';
import { buildDecoderGraph, defaultSessionOptions } from './index.js';
import { qwenDims } from '../../../arch-qwen/test/family-dims.js';
import { maxGathered } from './fused-experts-graph.js';

const TOLERANCE = 1e-4;
const MOE = { num_experts: 8, num_experts_per_tok: 2 };
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kit-fused-experts-'));
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

const CASES: Array<[string, Omit<SeededModelOptions, 'seed'>]> = [
  ['qwen3_moe', { family: 'qwen3_moe', dtype: 'bf16', tied: false, expertLayout: 'fused', config: MOE }],
  ['qwen2_moe (shared expert, raw top-k weights)', { family: 'qwen2_moe', dtype: 'bf16', tied: false, expertLayout: 'fused', config: MOE }],
  ['qwen3_5_moe (hybrid, shared expert)', { family: 'qwen3_5_moe', dtype: 'bf16', tied: false, expertLayout: 'fused', textConfig: MOE }],
  ['qwen3_moe per-expert tensors (one view over the back-to-back experts)', { family: 'qwen3_moe', dtype: 'bf16', tied: false, config: MOE }],
  ['qwen3_next per-expert tensors, shared expert', { family: 'qwen3_next', dtype: 'bf16', tied: false, config: MOE }],
];

describe('fused experts: gathered (decode) and dense (prefill) branches == reference forward', () => {
  it.each(CASES)('%s', async (name, options) => {
    const dir = join(root, name.replace(/[^a-z0-9_]+/gi, '-'));
    await writeSeededModel(dir, { seed: 12, ...options });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
    const result = await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    const dims = readForwardDims(config);
    expect(dims.moe?.experts).toBe(8);

    // Each sparse layer has one If whose then-branch gathers from the fused tensors and whose else-branch does not.
    const model = onnxProto.onnx.ModelProto.decode(await readFile(join(dir, result.graphPath)));
    const ifs = (model.graph?.node ?? []).filter((n) => n.opType === 'If' && n.output?.[0]?.endsWith('.mlp.experts'));
    expect(ifs.length).toBe(dims.layers);
    const branchOps = (n: (typeof ifs)[number], branch: string) => (n.attribute ?? []).find((a) => a.name === branch)?.g?.node?.map((m) => m.opType) ?? [];
    const products = options.expertLayout === 'fused' ? 2 : 3; // a view multiplies gate and up separately
    expect(branchOps(ifs[0], 'then_branch').filter((op) => op === 'MatMul')).toHaveLength(products);
    expect(branchOps(ifs[0], 'else_branch').filter((op) => op === 'MatMul')).toHaveLength(products * 8);

    const session = await ort.InferenceSession.create(join(dir, result.graphPath), defaultSessionOptions);
    const reference = await ReferenceModel.load(dir, { cacheWeights: true });
    const kv: KvShape = { layers: dims.layers, kvHeads: dims.kvHeads, headDim: dims.headDim };
    try {
      let graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
      let ref = await reference.step(IDS, MASK);
      expect(maxAbsDiff(graph.logits, ref.logits, ref.dims, (b, s) => MASK[b][s] === 1)).toBeLessThan(TOLERANCE);
      let mask = MASK.map((row) => [...row]);
      for (let step = 0; step < 3; step++) {
        const next = IDS.map((_, b) => [argmax(logitsRow(ref.logits, ref.dims, b, ref.dims[1] - 1))]);
        mask = mask.map((row) => [...row, 1]);
        graph = await runDecoder(session, kv, { inputIds: next, attentionMask: mask, past: graph.cache });
        ref = await reference.step(next, mask, ref.cache);
        expect(maxAbsDiff(graph.logits, ref.logits, ref.dims)).toBeLessThan(TOLERANCE);
      }

      // One row alone: prefill (7 rows, dense) then decode (1 row, gathered).
      const one = [IDS[0]];
      let g1 = await runDecoder(session, kv, { inputIds: one });
      let r1 = await reference.step(one, [one[0].map(() => 1)]);
      expect(maxAbsDiff(g1.logits, r1.logits, r1.dims)).toBeLessThan(TOLERANCE);
      let m1 = [one[0].map(() => 1)];
      for (let step = 0; step < 2; step++) {
        const next = [[argmax(logitsRow(r1.logits, r1.dims, 0, r1.dims[1] - 1))]];
        m1 = [[...m1[0], 1]];
        g1 = await runDecoder(session, kv, { inputIds: next, attentionMask: m1, past: g1.cache });
        r1 = await reference.step(next, m1, r1.cache);
        expect(maxAbsDiff(g1.logits, r1.logits, r1.dims)).toBeLessThan(TOLERANCE);
      }
    } finally {
      await session.release();
    }
  });
});

describe('per-expert tensors split over shards', () => {
  it('stay dense (no If), say so in the warnings, and still equal the reference in decode', async () => {
    const dir = join(root, 'split-experts');
    // Three shards cut both layers' expert blocks (checked: expertStore is undefined for layers 0 and 1).
    await writeSeededModel(dir, { seed: 13, family: 'qwen3_moe', dtype: 'bf16', tied: false, shards: 3, config: MOE });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
    const result = await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    expect(result.warnings.join(' ')).toMatch(/MoE layers 0, 1 evaluate all 8 experts for every token/);
    const model = onnxProto.onnx.ModelProto.decode(await readFile(join(dir, result.graphPath)));
    expect((model.graph?.node ?? []).filter((n) => n.opType === 'If')).toHaveLength(0);
    const dims = readForwardDims(config);
    const session = await ort.InferenceSession.create(join(dir, result.graphPath), defaultSessionOptions);
    const reference = await ReferenceModel.load(dir, { cacheWeights: true });
    try {
      const kv: KvShape = { layers: dims.layers, kvHeads: dims.kvHeads, headDim: dims.headDim };
      const one = [IDS[0]];
      const g1 = await runDecoder(session, kv, { inputIds: one });
      const r1 = await reference.step(one, [one[0].map(() => 1)]);
      const next = [[argmax(logitsRow(r1.logits, r1.dims, 0, r1.dims[1] - 1))]];
      const mask = [[...one[0].map(() => 1), 1]];
      const g2 = await runDecoder(session, kv, { inputIds: next, attentionMask: mask, past: g1.cache });
      const r2 = await reference.step(next, mask, r1.cache);
      expect(maxAbsDiff(g2.logits, r2.logits, r2.dims)).toBeLessThan(TOLERANCE);
    } finally {
      await session.release();
    }
  });
});

describe('maxGathered', () => {
  it('is E for small experts, bounded by 256 MiB of float32 weights, never below one token\'s K', () => {
    expect(maxGathered(8, 2, 16, 32)).toBe(8);
    // Qwen3.5-35B-A3B: 3 · 512 · 2048 · 4 B = 12.6 MB per expert -> 21 (two decode rows of 8).
    expect(maxGathered(256, 8, 512, 2048)).toBe(21);
    // Qwen3-235B-A22B: 75 MB per expert -> only one token's 8.
    expect(maxGathered(128, 8, 1536, 4096)).toBe(8);
  });
});
