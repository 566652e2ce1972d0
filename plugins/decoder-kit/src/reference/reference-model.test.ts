/**
 * The reference pass is the oracle, so its own tests check it against the definitions in §4 by rewriting
 * models into equivalent ones (GQA into plain multi-head attention, a one-expert MoE into a dense MLP) and
 * against properties the math guarantees (causality, padding invariance). The ONNX tests then check the graph
 * against it; a mistake would have to be made identically in both to pass.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../../../src/formats/safetensors/index.js';
import type { ModelConfig } from '../../../../src/index.js';
import { makeTinyModel, writeRepoFiles } from '../../../../test/fixtures/tiny-models.js';
import { boundedReferenceForward, ModelWeights, readForwardDims, ReferenceModel, referenceForward, referenceGreedyGenerate } from './index.js';
import { writeSeededModel } from '../testing/write-seeded-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'arch-qwen-ref-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Writes `tensors` (float32) and config into a new folder. */
async function writeFolder(dir: string, config: ModelConfig, tensors: Map<string, { shape: number[]; data: Float32Array }>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const list = [...tensors].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }));
  await writeSafetensors(join(dir, 'model.safetensors'), list, { format: 'pt' }, { sync: false });
}

async function readAll(dir: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const weights = await ModelWeights.open(dir);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const name of weights.names) out.set(name, { shape: weights.locate(name).shape, data: await weights.float32(name) });
  return out;
}

describe('referenceForward', () => {
  it('GQA is repeat_interleave: the same model with K/V heads duplicated into plain multi-head attention agrees', async () => {
    const gqaDir = join(root, 'gqa');
    const config = await writeSeededModel(gqaDir, { seed: 1, family: 'qwen2', dtype: 'f32', tied: false, config: { num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64 } });
    const dims = readForwardDims(config);
    const tensors = await readAll(gqaDir);
    const rep = dims.heads / dims.kvHeads;
    const D = dims.headDim;
    // KV head h serves query heads h·rep … h·rep+rep-1, so MHA head j takes the rows of KV head floor(j / rep).
    const widen = (rows: Float32Array, rowWidth: number) => {
      const out = new Float32Array(dims.heads * D * rowWidth);
      for (let j = 0; j < dims.heads; j++) {
        const h = Math.floor(j / rep);
        out.set(rows.subarray(h * D * rowWidth, (h + 1) * D * rowWidth), j * D * rowWidth);
      }
      return out;
    };
    for (let i = 0; i < dims.layers; i++) {
      for (const proj of ['k_proj', 'v_proj']) {
        const w = tensors.get(`model.layers.${i}.self_attn.${proj}.weight`)!;
        tensors.set(`model.layers.${i}.self_attn.${proj}.weight`, { shape: [dims.heads * D, dims.hidden], data: widen(w.data, dims.hidden) });
        const b = tensors.get(`model.layers.${i}.self_attn.${proj}.bias`)!;
        tensors.set(`model.layers.${i}.self_attn.${proj}.bias`, { shape: [dims.heads * D], data: widen(b.data, 1) });
      }
    }
    const mhaDir = join(root, 'mha');
    await writeFolder(mhaDir, { ...config, num_key_value_heads: dims.heads }, tensors);

    const input = { inputIds: [[3, 14, 15, 9, 26]] };
    const gqa = await referenceForward(gqaDir, input);
    const mha = await referenceForward(mhaDir, input);
    expect(maxDiff(gqa.logits, mha.logits)).toBeLessThan(1e-5);

    // And tiling (head j -> j mod nKV) is not what it computes.
    const tiled = new Map(tensors);
    for (let i = 0; i < dims.layers; i++) {
      for (const proj of ['k_proj', 'v_proj']) {
        const orig = await ModelWeights.open(gqaDir).then((w) => w.float32(`model.layers.${i}.self_attn.${proj}.weight`));
        const out = new Float32Array(dims.heads * D * dims.hidden);
        for (let j = 0; j < dims.heads; j++) out.set(orig.subarray((j % dims.kvHeads) * D * dims.hidden, ((j % dims.kvHeads) + 1) * D * dims.hidden), j * D * dims.hidden);
        tiled.set(`model.layers.${i}.self_attn.${proj}.weight`, { shape: [dims.heads * D, dims.hidden], data: out });
      }
    }
    const tiledDir = join(root, 'tiled');
    await writeFolder(tiledDir, { ...config, num_key_value_heads: dims.heads }, tiled);
    expect(maxDiff(gqa.logits, (await referenceForward(tiledDir, input)).logits)).toBeGreaterThan(1e-3);
  });

  it('a qwen3_moe layer with one expert (top-1, renormalised) equals the dense qwen3 MLP of that expert', async () => {
    const moeDir = join(root, 'moe1');
    const config = await writeSeededModel(moeDir, {
      seed: 2,
      family: 'qwen3_moe',
      dtype: 'f32',
      tied: true,
      config: { num_experts: 1, num_experts_per_tok: 1, norm_topk_prob: true, moe_intermediate_size: 24, vocab_size: 64 },
    });
    const tensors = await readAll(moeDir);
    const dense = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of tensors) {
      if (name.endsWith('.mlp.gate.weight')) continue;
      dense.set(name.replace('.mlp.experts.0.', '.mlp.'), t);
    }
    const denseDir = join(root, 'dense-from-moe');
    await writeFolder(denseDir, { ...config, model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], intermediate_size: 24 }, dense);
    const input = { inputIds: [[5, 1, 44, 2]] };
    expect(maxDiff((await referenceForward(moeDir, input)).logits, (await referenceForward(denseDir, input)).logits)).toBeLessThan(1e-6);
  });

  it('is causal: changing a later token leaves earlier logits untouched', async () => {
    const dir = join(root, 'causal');
    await writeRepoFiles(dir, makeTinyModel({ family: 'qwen3', dtype: 'bf16', seed: 3 }));
    const a = await referenceForward(dir, { inputIds: [[10, 11, 12, 13]] });
    const b = await referenceForward(dir, { inputIds: [[10, 11, 12, 99]] });
    const V = a.dims[2];
    expect(maxDiff(a.logits.subarray(0, 3 * V), b.logits.subarray(0, 3 * V))).toBe(0);
    expect(maxDiff(a.logits.subarray(3 * V), b.logits.subarray(3 * V))).toBeGreaterThan(1e-3);
  });

  it('left padding with a mask gives each row the logits it has alone; sharded and single files agree', async () => {
    const single = join(root, 'single');
    const sharded = join(root, 'sharded');
    await writeRepoFiles(single, makeTinyModel({ family: 'qwen2', dtype: 'bf16', seed: 4 }));
    await writeRepoFiles(sharded, makeTinyModel({ family: 'qwen2', dtype: 'bf16', seed: 4, shards: 3 }));
    const batch = await referenceForward(sharded, { inputIds: [[7, 8, 9, 10], [0, 0, 20, 21]], attentionMask: [[1, 1, 1, 1], [0, 0, 1, 1]] });
    const V = batch.dims[2];
    const first = await referenceForward(single, { inputIds: [[7, 8, 9, 10]] });
    const second = await referenceForward(single, { inputIds: [[20, 21]] });
    expect(maxDiff(batch.logits.subarray(0, 4 * V), first.logits)).toBeLessThan(1e-6);
    expect(maxDiff(batch.logits.subarray(6 * V, 8 * V), second.logits)).toBeLessThan(1e-6);
    expect(batch.logits.every(Number.isFinite)).toBe(true); // fully masked pad rows stay finite
  });

  it('greedy generation appends the argmax of the last position and stops at EOS', async () => {
    const dir = join(root, 'greedy');
    await writeRepoFiles(dir, makeTinyModel({ family: 'qwen2', dtype: 'f32', seed: 6 }));
    const prompt = [30, 31, 32];
    const tokens = await referenceGreedyGenerate(dir, prompt, { maxNewTokens: 4 });
    expect(tokens).toHaveLength(4);
    const model = await ReferenceModel.load(dir);
    const { logits, dims } = await model.forward({ inputIds: [[...prompt, tokens[0], tokens[1]]] });
    const last = Array.from(logits.subarray(4 * dims[2], 5 * dims[2]));
    expect(last.indexOf(Math.max(...last))).toBe(tokens[2]);
    const stopped = await referenceGreedyGenerate(dir, prompt, { maxNewTokens: 4, eosTokenIds: [tokens[1]] });
    expect(stopped).toEqual(tokens.slice(0, tokens.indexOf(tokens[1]) + 1));
  });

  it('rejects ragged rows and out-of-vocabulary ids with a clear message', async () => {
    const dir = join(root, 'bad-input');
    await writeRepoFiles(dir, makeTinyModel({ family: 'qwen2', dtype: 'bf16', seed: 7 }));
    await expect(referenceForward(dir, { inputIds: [[1, 2], [3]] })).rejects.toThrow(/same length/);
    await expect(referenceForward(dir, { inputIds: [[1, 1_000_000]] })).rejects.toThrow(/outside the vocabulary/);
  });
});

describe('referenceForward in bounded memory', () => {
  it.each([
    ['qwen2 tied', { family: 'qwen2', tied: true }],
    ['qwen3 untied', { family: 'qwen3', tied: false }],
    ['qwen2_moe fused experts', { family: 'qwen2_moe', tied: false, expertLayout: 'fused' }],
  ] as const)('%s: row blocks of 1 KiB give the logits of whole-tensor reads', async (name, options) => {
    const dir = join(root, `blocks-${name.replaceAll(' ', '-')}`);
    await writeSeededModel(dir, { seed: 8, dtype: 'bf16', shards: 2, ...options, config: { vocab_size: 96 } });
    const input = { inputIds: [[4, 8, 15, 16], [0, 23, 42, 7]], attentionMask: [[1, 1, 1, 1], [0, 1, 1, 1]] };
    const whole = await (await ReferenceModel.load(dir, { cacheWeights: true })).forward(input);
    // 1 KiB = 8 rows of H=32 float32: every projection, the embedding and the LM head go through blocks.
    const blocked = await referenceForward(dir, input, { blockBytes: 1024 });
    expect(maxDiff(whole.logits, blocked.logits)).toBe(0);
    const bounded = await boundedReferenceForward(dir, input, { maxMemory: 512 << 20 });
    expect(maxDiff(whole.logits, bounded.logits)).toBe(0);
  });
});
