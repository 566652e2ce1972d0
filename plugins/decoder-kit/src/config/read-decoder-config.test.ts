import { describe, expect, it } from 'vitest';
import { isModelImportError, type ModelConfig } from '../../../../src/index.js';
import { readDecoderConfig } from './read-decoder-config.js';
import { ropeInverseFrequencies } from './rope-parameters.js';

// Trimmed from the published config.json files (transformers 4 serialisation).
const QWEN25_05B: ModelConfig = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', attention_dropout: 0, bos_token_id: 151643,
  eos_token_id: 151643, hidden_act: 'silu', hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864,
  max_position_embeddings: 32768, max_window_layers: 24, num_attention_heads: 14, num_hidden_layers: 24,
  num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000, sliding_window: 32768, tie_word_embeddings: true,
  torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};
const QWEN3_30B_A3B: ModelConfig = {
  architectures: ['Qwen3MoeForCausalLM'], model_type: 'qwen3_moe', attention_bias: false, decoder_sparse_step: 1,
  head_dim: 128, hidden_size: 2048, intermediate_size: 6144, max_position_embeddings: 40960, mlp_only_layers: [],
  moe_intermediate_size: 768, norm_topk_prob: true, num_attention_heads: 32, num_experts: 128, num_experts_per_tok: 8,
  num_hidden_layers: 48, num_key_value_heads: 4, output_router_logits: false, rms_norm_eps: 1e-6, rope_scaling: null,
  rope_theta: 1000000, router_aux_loss_coef: 0.001, sliding_window: null, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', use_sliding_window: false, vocab_size: 151936,
};

function refusal(fn: () => unknown): { message: string; exit: number } {
  try {
    fn();
  } catch (error) {
    if (isModelImportError(error)) return { message: error.message, exit: error.exitCode };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('readDecoderConfig: transformers defaults per family', () => {
  it('reads Qwen2.5-0.5B as published', () => {
    const r = readDecoderConfig(QWEN25_05B);
    expect(r).toMatchObject({ family: 'qwen2', hidden: 896, heads: 14, kvHeads: 2, headDim: 64, layers: 24, tied: true, qkvBias: true, oBias: false, qkNorm: false, dtype: 'bfloat16' });
    expect(r.rope).toMatchObject({ type: 'default', theta: 1e6, rotaryDim: 64, attentionScaling: 1 });
    expect(r.layerTypes).toHaveLength(24);
  });

  it('Qwen3-MoE: norm_topk_prob defaults to false and head_dim to hidden/heads (Qwen3MoeConfig)', () => {
    const { norm_topk_prob: _n, head_dim: _h, ...bare } = QWEN3_30B_A3B;
    const r = readDecoderConfig(bare);
    expect(r.moe?.normTopkProb).toBe(false);
    expect(r.headDim).toBe(2048 / 32);
    expect(readDecoderConfig(QWEN3_30B_A3B).moe).toMatchObject({ normTopkProb: true, experts: 128, topK: 8, sharedIntermediate: 0 });
  });

  it('Qwen3: head_dim defaults to 128, not hidden/heads (Qwen3Config)', () => {
    const r = readDecoderConfig({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, num_attention_heads: 16, num_key_value_heads: 8 });
    expect(r.headDim).toBe(128);
    expect(r.kvHeads).toBe(8);
    expect(r.qkNorm).toBe(true);
    expect(r.qkvBias).toBe(false);
    expect(r.vocab).toBe(151936);
  });

  it('a missing num_key_value_heads is the class default (32), not num_attention_heads', () => {
    const { message } = refusal(() => readDecoderConfig({ architectures: ['Qwen3ForCausalLM'], hidden_size: 1024, num_attention_heads: 16 }));
    expect(message).toContain('num_key_value_heads 32');
  });

  it('Qwen2-MoE: shared expert 5632 and qkv_bias true by default; norm_topk_prob false', () => {
    const r = readDecoderConfig({ architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe' });
    expect(r.moe).toMatchObject({ experts: 60, topK: 4, moeIntermediate: 1408, sharedIntermediate: 5632, normTopkProb: false });
    expect(r.qkvBias).toBe(true);
    expect(r.hidden).toBe(2048);
  });

  it('Llama: vocab 32000, 2048 positions, kv heads = heads, no biases (LlamaConfig)', () => {
    const r = readDecoderConfig({ architectures: ['LlamaForCausalLM'], model_type: 'llama', pretraining_tp: 1 });
    expect(r).toMatchObject({ vocab: 32000, maxPositionEmbeddings: 2048, kvHeads: 32, headDim: 128, qkvBias: false, mlpBias: false });
  });

  it('transformers 5 serialisation reads the same as transformers 4', () => {
    const { torch_dtype: _t, rope_theta: _r, rope_scaling: _s, num_experts: _e, ...rest } = QWEN3_30B_A3B;
    const v5 = { ...rest, dtype: 'bfloat16', num_local_experts: 128, rope_parameters: { rope_type: 'default', rope_theta: 1000000 }, layer_types: new Array(48).fill('full_attention') };
    expect(readDecoderConfig(v5)).toEqual(readDecoderConfig(QWEN3_30B_A3B));
  });
});

describe('readDecoderConfig: refusals name the key (exit 3)', () => {
  it.each([
    ['an unknown key', { ...QWEN25_05B, attn_logit_softcapping: 30 }, 'attn_logit_softcapping'],
    ['sliding window', { ...QWEN25_05B, use_sliding_window: true }, 'use_sliding_window'],
    ['a sliding layer type', { ...QWEN25_05B, layer_types: ['sliding_attention', ...new Array(23).fill('full_attention')] }, 'layer_types[0]'],
    ['an unknown rope type', { ...QWEN25_05B, rope_scaling: { rope_type: 'longrope', factor: 4 } }, 'rope_scaling.rope_type'],
    ['an unknown yarn key', { ...QWEN25_05B, rope_scaling: { rope_type: 'yarn', factor: 4, low_freq_factor: 1 } }, 'rope_scaling.low_freq_factor'],
    ['partial rotary on a whole-head family', { ...QWEN25_05B, partial_rotary_factor: 0.5 }, 'partial_rotary_factor'],
    ['GPTQ', { ...QWEN25_05B, quantization_config: { quant_method: 'gptq', bits: 4 } }, '"gptq"'],
    ['AWQ', { ...QWEN25_05B, quantization_config: { quant_method: 'awq', bits: 4 } }, '"awq"'],
    ['bitsandbytes', { ...QWEN25_05B, quantization_config: { quant_method: 'bitsandbytes' } }, '"bitsandbytes"'],
    ['an MoE key on a dense family', { ...QWEN25_05B, norm_topk_prob: true }, 'norm_topk_prob'],
    ['gelu', { ...QWEN25_05B, hidden_act: 'gelu' }, 'hidden_act'],
  ])('%s', (_what, config, key) => {
    const { message, exit } = refusal(() => readDecoderConfig(config as ModelConfig));
    expect(message).toContain(key);
    expect(exit).toBe(3);
  });

  it('reads an FP8 quantization_config', () => {
    const r = readDecoderConfig({ ...QWEN3_30B_A3B, quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128], modules_to_not_convert: ['lm_head'] } });
    expect(r.quantization).toEqual({ method: 'fp8', blockSize: [128, 128], modulesNotConverted: ['lm_head'] });
  });
});

describe('rope scaling as modeling_rope_utils.py computes it', () => {
  const base = { ...QWEN3_30B_A3B, max_position_embeddings: 131072 };
  it('legacy "type" and "rope_type" read the same; {type: "default"} is no scaling', () => {
    const a = readDecoderConfig({ ...base, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } });
    const b = readDecoderConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } });
    expect(a.rope).toEqual(b.rope);
    expect(readDecoderConfig({ ...base, rope_scaling: { type: 'default' } }).rope.type).toBe('default');
  });

  it('YaRN: attention scaling 0.1 ln(factor) + 1; fast dimensions extrapolated, slow ones interpolated', () => {
    const { rope } = readDecoderConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } });
    expect(rope.attentionScaling).toBeCloseTo(0.1 * Math.log(4) + 1, 12);
    const plain = ropeInverseFrequencies({ ...rope, type: 'default' });
    const yarn = ropeInverseFrequencies(rope);
    expect(yarn[0]).toBe(plain[0]);
    expect(yarn[63]).toBeCloseTo(plain[63]! / 4, 12);
    expect(yarn[30]! / plain[30]!).toBeGreaterThan(0.25);
    expect(yarn[30]! / plain[30]!).toBeLessThan(1);
  });

  it('linear divides inv_freq by the factor; dynamic equals default up to original_max_position_embeddings', () => {
    const lin = readDecoderConfig({ ...base, rope_scaling: { rope_type: 'linear', factor: 2 } }).rope;
    const plain = ropeInverseFrequencies({ ...lin, type: 'default' });
    expect(ropeInverseFrequencies(lin)[10]).toBeCloseTo(plain[10]! / 2, 12);
    const dyn = readDecoderConfig({ ...base, rope_scaling: { rope_type: 'dynamic', factor: 2 } }).rope;
    expect(ropeInverseFrequencies(dyn, 100)).toEqual(plain);
    expect(ropeInverseFrequencies(dyn, 2 * 131072)[10]).toBeLessThan(plain[10]!);
  });
});
