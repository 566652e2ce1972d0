import { describe, expect, it } from 'vitest';
import { isSparseLayer, readForwardDims } from './forward-dims.js';

// Field sets of the released files, sizes as published (the reading never touches weights).
const next80b = {
  architectures: ['Qwen3NextForCausalLM'], model_type: 'qwen3_next', decoder_sparse_step: 1, full_attention_interval: 4, head_dim: 256,
  hidden_act: 'silu', hidden_size: 2048, intermediate_size: 5120, linear_conv_kernel_dim: 4, linear_key_head_dim: 128,
  linear_num_key_heads: 16, linear_num_value_heads: 32, linear_value_head_dim: 128, max_position_embeddings: 262144,
  mlp_only_layers: [], moe_intermediate_size: 512, norm_topk_prob: true, num_attention_heads: 16, num_experts: 512,
  num_experts_per_tok: 10, num_hidden_layers: 48, num_key_value_heads: 2, partial_rotary_factor: 0.25, rms_norm_eps: 1e-6,
  rope_theta: 10000000, shared_expert_intermediate_size: 512, tie_word_embeddings: false, vocab_size: 151936,
};

describe('readForwardDims: Qwen3-Next / Qwen3.5 read on the reference side', () => {
  it('Qwen3-Next: layer_types from full_attention_interval (every 4th layer full), MoE with shared expert, gate, 1 + w norms', () => {
    const d = readForwardDims(next80b);
    expect(d.hybrid!.layerTypes.slice(0, 8)).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention', 'linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);
    expect(d.hybrid!.layerTypes.filter((t) => t === 'full_attention')).toHaveLength(12);
    expect(d.hybrid!.linear).toEqual({ hidden: 2048, kernel: 4, keyDim: 128, valueDim: 128, keyHeads: 16, valueHeads: 32, eps: 1e-6 });
    expect(d).toMatchObject({ family: 'qwen3_next', tensorPrefix: 'model', normZeroCentred: true, attentionOutputGate: true, qkNorm: true, positionsFromMask: false, embedsSession: false, headDim: 256 });
    expect(d.rope).toEqual({ theta: 1e7, partialRotaryFactor: 0.25 });
    expect(d.moe).toMatchObject({ experts: 512, topK: 10, sharedIntermediate: 512, normTopkProb: true });
    expect(isSparseLayer(d, 0)).toBe(true);
  });

  it('transformers defaults when keys are absent: partial_rotary_factor 0.25, head_dim 256, norm_topk_prob true, interval 4', () => {
    const { partial_rotary_factor: _p, head_dim: _h, norm_topk_prob: _n, full_attention_interval: _f, ...bare } = next80b;
    const d = readForwardDims(bare);
    expect(d.rope.partialRotaryFactor).toBe(0.25);
    expect(d.headDim).toBe(256);
    expect(d.moe!.normTopkProb).toBe(true);
    expect(d.hybrid!.layerTypes[3]).toBe('full_attention');
    expect(d.hybrid!.layerTypes[0]).toBe('linear_attention');
  });

  it('Qwen3.5 wrapper: text_config, model.language_model prefix, no position_ids, embed_tokens + decoder_model_merged, dense MLP', () => {
    const layerTypes = ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'];
    const d = readForwardDims({
      architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', tie_word_embeddings: true,
      text_config: { model_type: 'qwen3_5_text', hidden_size: 1024, num_hidden_layers: 4, layer_types: layerTypes, intermediate_size: 3584, num_attention_heads: 8, num_key_value_heads: 2,
        rope_parameters: { rope_type: 'default', rope_theta: 1e7, partial_rotary_factor: 0.25, mrope_section: [11, 11, 10], mrope_interleaved: true } },
      vision_config: { model_type: 'qwen3_5_vision' },
    });
    expect(d).toMatchObject({ family: 'qwen3_5', tensorPrefix: 'model.language_model', positionsFromMask: true, embedsSession: true, tied: true, vocab: 248320, intermediate: 3584 });
    expect(d.moe).toBeUndefined();
    expect(d.hybrid!.layerTypes).toEqual(layerTypes);
  });

  it('Qwen3.5 text-only re-save: model prefix, DecoderOnly layout, still no position_ids', () => {
    const d = readForwardDims({ architectures: ['Qwen3_5ForCausalLM'], model_type: 'qwen3_5_text', num_hidden_layers: 4, hidden_size: 64 });
    expect(d).toMatchObject({ tensorPrefix: 'model', positionsFromMask: true, embedsSession: false, hidden: 64 });
  });

  it('Qwen3.5-MoE: every layer sparse whatever decoder_sparse_step says, top-k always renormalised', () => {
    const d = readForwardDims({ architectures: ['Qwen3_5MoeForConditionalGeneration'], model_type: 'qwen3_5_moe', text_config: { model_type: 'qwen3_5_moe_text', num_hidden_layers: 8, decoder_sparse_step: 2, norm_topk_prob: false } });
    expect(d.moe).toMatchObject({ experts: 256, topK: 8, moeIntermediate: 512, sharedIntermediate: 512, normTopkProb: true });
    expect(Array.from({ length: 8 }, (_, i) => isSparseLayer(d, i))).toEqual(new Array(8).fill(true));
    expect(d.hidden).toBe(2048);
  });

  it('refuses what it cannot compute: bad layer_types, value heads not a multiple of key heads, disagreeing tie flags', () => {
    expect(() => readForwardDims({ ...next80b, num_hidden_layers: 2, layer_types: ['linear_attention', 'sliding_attention'] })).toThrow(/layer_types/);
    expect(() => readForwardDims({ ...next80b, linear_num_value_heads: 24, linear_num_key_heads: 16 })).toThrow(/multiple of key heads/);
    expect(() => readForwardDims({ model_type: 'qwen3_5', tie_word_embeddings: true, text_config: { tie_word_embeddings: false } })).toThrow(/tie_word_embeddings/);
  });
});
