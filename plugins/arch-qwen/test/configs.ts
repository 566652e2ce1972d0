/**
 * Real configs as the Hub ships them (reference/qwen-family.md §3: C-a Qwen2.5-0.5B, C-e Qwen3-0.6B) and
 * small MoE configs with the released field set, for recognition tests.
 */
import type { ModelConfig } from '../../../src/index.js';

export function qwen25_05b(): ModelConfig {
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151643,
    hidden_act: 'silu',
    hidden_size: 896,
    initializer_range: 0.02,
    intermediate_size: 4864,
    max_position_embeddings: 32768,
    max_window_layers: 24,
    model_type: 'qwen2',
    num_attention_heads: 14,
    num_hidden_layers: 24,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.40.1',
    use_cache: true,
    use_mrope: false,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

export function qwen3_06b(): ModelConfig {
  return {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: 1024,
    initializer_range: 0.02,
    intermediate_size: 3072,
    max_position_embeddings: 40960,
    max_window_layers: 28,
    model_type: 'qwen3',
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

/** Qwen1.5-MoE-A2.7B's field set (reference §2.3), shrunk. */
export function qwen2MoeTiny(): ModelConfig {
  return {
    architectures: ['Qwen2MoeForCausalLM'],
    model_type: 'qwen2_moe',
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    vocab_size: 256,
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: 32,
    shared_expert_intermediate_size: 128,
    norm_topk_prob: false,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    qkv_bias: true,
    rope_theta: 1000000.0,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    use_sliding_window: false,
    hidden_act: 'silu',
  };
}

/** Qwen3-30B-A3B's field set (reference §2.3), shrunk, in the transformers v5 spelling. */
export function qwen3MoeTiny(): ModelConfig {
  return {
    architectures: ['Qwen3MoeForCausalLM'],
    model_type: 'qwen3_moe',
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    vocab_size: 256,
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: 32,
    norm_topk_prob: true,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    attention_bias: false,
    rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' },
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    dtype: 'bfloat16',
    layer_types: ['full_attention', 'full_attention'],
    use_sliding_window: false,
    hidden_act: 'silu',
  };
}
