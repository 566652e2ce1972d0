import { describe, expect, it } from 'vitest';
import { isSparseLayer, positionIdsFromMask, readForwardDims, ropeInverseFrequencies } from './forward-dims.js';

const qwen2 = {
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
};

describe('readForwardDims', () => {
  it('qwen2: head_dim from hidden_size / heads, q/k/v biases, no q/k norm', () => {
    const dims = readForwardDims(qwen2);
    expect(dims).toMatchObject({ family: 'qwen2', headDim: 64, kvHeads: 2, qkvBias: true, oBias: false, qkNorm: false, tied: true });
  });

  it('qwen3: explicit head_dim wins even when heads·D differs from hidden_size; no biases', () => {
    const dims = readForwardDims({ ...qwen2, model_type: 'qwen3', hidden_size: 1024, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128 });
    expect(dims).toMatchObject({ family: 'qwen3', headDim: 128, qkvBias: false, qkNorm: true });
  });

  it('defaults: nKV = nH, rope_theta 10000, eps 1e-6, untied', () => {
    const { num_key_value_heads: _kv, rope_theta: _t, rms_norm_eps: _e, tie_word_embeddings: _tie, ...bare } = qwen2;
    expect(readForwardDims(bare)).toMatchObject({ kvHeads: 14, ropeTheta: 10000, rmsNormEps: 1e-6, tied: false });
  });

  it('transformers v5 rope_parameters are read; scaled RoPE becomes a RopeSpec; unknown types are refused', () => {
    expect(readForwardDims({ ...qwen2, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 5e5 } }).ropeTheta).toBe(5e5);
    expect(readForwardDims(qwen2).rope).toEqual({ theta: 1e6, partialRotaryFactor: 1 });
    const yarn = readForwardDims({ ...qwen2, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }).rope;
    expect(yarn.scaling).toMatchObject({ type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768, truncate: true });
    const partial = readForwardDims({ ...qwen2, rope_parameters: { rope_type: 'default', rope_theta: 1e7, partial_rotary_factor: 0.25, mrope_section: [11, 11, 10], mrope_interleaved: true } }).rope;
    expect(partial).toEqual({ theta: 1e7, partialRotaryFactor: 0.25, mropeSection: { sections: [11, 11, 10], interleaved: true } });
    expect(() => readForwardDims({ ...qwen2, rope_scaling: { rope_type: 'longrope', factor: 4 } })).toThrow(/RoPE type "longrope" is not implemented/);
    expect(() => readForwardDims({ ...qwen2, rope_scaling: { rope_type: 'linear' } })).toThrow(/RoPE factor is undefined/);
  });

  it('MoE: sparse layers follow decoder_sparse_step and mlp_only_layers', () => {
    const dims = readForwardDims({
      ...qwen2,
      model_type: 'qwen2_moe',
      num_experts: 8,
      num_experts_per_tok: 2,
      moe_intermediate_size: 32,
      shared_expert_intermediate_size: 64,
      decoder_sparse_step: 2,
      mlp_only_layers: [3],
    });
    expect(dims.moe).toMatchObject({ experts: 8, topK: 2, sharedIntermediate: 64, normTopkProb: false });
    expect([0, 1, 2, 3, 4, 5].map((i) => isSparseLayer(dims, i))).toEqual([false, true, false, false, false, true]);
  });

  it('notes sliding-window attention instead of pretending to implement it', () => {
    expect(readForwardDims({ ...qwen2, use_sliding_window: true, sliding_window: 4096 }).notes[0]).toMatch(/exact only up to 4096 tokens/);
  });

  it('reads a llama config with LlamaConfig defaults: attention_bias on q, k, v and o, no q/k norm', () => {
    const llama = { ...qwen2, architectures: ['LlamaForCausalLM'], model_type: 'llama' };
    expect(readForwardDims(llama)).toMatchObject({ family: 'llama', qkvBias: false, oBias: false, qkNorm: false });
    expect(readForwardDims({ ...llama, attention_bias: true })).toMatchObject({ qkvBias: true, oBias: true, qkNorm: false });
  });

  it('refuses configs it cannot compute', () => {
    expect(() => readForwardDims({ ...qwen2, architectures: ['MistralForCausalLM'], model_type: 'mistral' })).toThrow(/not a decoder the forward pass covers/);
    expect(() => readForwardDims({ ...qwen2, architectures: ['LlamaForCausalLM'], model_type: 'llama', mlp_bias: true })).toThrow(/mlp_bias/);
    expect(() => readForwardDims({ ...qwen2, num_key_value_heads: 3 })).toThrow(/not a multiple/);
    expect(() => readForwardDims({ ...qwen2, hidden_act: 'gelu' })).toThrow(/hidden_act/);
  });
});

describe('RoPE and positions', () => {
  it('inv_freq is 1/θ^(2i/d) rounded to float32 at each step, as transformers computes it', () => {
    const inv = ropeInverseFrequencies({ headDim: 64, ropeTheta: 1e6 });
    expect(inv).toHaveLength(32);
    expect(inv[0]).toBe(1);
    expect(inv[1]).toBeCloseTo(Math.exp(-Math.log(1e6) / 32), 7);
    expect(inv[31]).toBeCloseTo(Math.pow(1e6, -62 / 64), 12);
    for (const value of inv) expect(Math.fround(value)).toBe(value);
  });

  it('position_ids = cumsum(mask) - 1 with padded slots set to 1', () => {
    expect(positionIdsFromMask([1, 1, 1, 1])).toEqual([0, 1, 2, 3]);
    expect(positionIdsFromMask([0, 0, 1, 1, 1])).toEqual([1, 1, 0, 1, 2]);
  });
});

describe('readForwardDims: transformers config-class defaults', () => {
  const base = { hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 320, intermediate_size: 96 };
  it('Qwen3 without head_dim: 128 (Qwen3Config); Qwen3-MoE without head_dim: hidden // heads', () => {
    expect(readForwardDims({ model_type: 'qwen3', ...base }).headDim).toBe(128);
    expect(readForwardDims({ model_type: 'qwen3_moe', ...base, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32 }).headDim).toBe(16);
  });
  it('Qwen3-MoE without norm_topk_prob: false (Qwen3MoeConfig)', () => {
    expect(readForwardDims({ model_type: 'qwen3_moe', ...base, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32 }).moe?.normTopkProb).toBe(false);
  });
});
