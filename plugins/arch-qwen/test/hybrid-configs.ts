/**
 * The published config.json key sets of Qwen3-Next-80B-A3B-Instruct (transformers 4 serialisation, only
 * full_attention_interval), Qwen3.5-0.8B and Qwen3.5-35B-A3B (transformers 5 wrappers with text_config), at their
 * real sizes, for recognition tests (no weights involved).
 */
import type { ModelConfig } from '../../../src/index.js';

export function qwen3Next80b(): ModelConfig {
  return {
    architectures: ['Qwen3NextForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643,
    decoder_sparse_step: 1, eos_token_id: 151645, full_attention_interval: 4, head_dim: 256, hidden_act: 'silu',
    hidden_size: 2048, initializer_range: 0.02, intermediate_size: 5120, linear_conv_kernel_dim: 4,
    linear_key_head_dim: 128, linear_num_key_heads: 16, linear_num_value_heads: 32, linear_value_head_dim: 128,
    max_position_embeddings: 262144, mlp_only_layers: [], model_type: 'qwen3_next', moe_intermediate_size: 512,
    norm_topk_prob: true, num_attention_heads: 16, num_experts: 512, num_experts_per_tok: 10, num_hidden_layers: 48,
    num_key_value_heads: 2, output_router_logits: false, partial_rotary_factor: 0.25, rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 10000000, router_aux_loss_coef: 0.001, shared_expert_intermediate_size: 512,
    tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.57.0.dev0', use_cache: true,
    use_sliding_window: false, vocab_size: 151936,
  };
}

const VISION = {
  deepstack_visual_indexes: [], depth: 12, hidden_act: 'gelu_pytorch_tanh', hidden_size: 768, in_channels: 3,
  initializer_range: 0.02, intermediate_size: 3072, model_type: 'qwen3_5', num_heads: 12, num_position_embeddings: 2304,
  out_hidden_size: 1024, patch_size: 16, spatial_merge_size: 2, temporal_patch_size: 2,
};

function layerTypes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention'));
}

export function qwen35_08b(): ModelConfig {
  return {
    architectures: ['Qwen3_5ForConditionalGeneration'], image_token_id: 248056, model_type: 'qwen3_5',
    text_config: {
      attention_bias: false, attention_dropout: 0.0, attn_output_gate: true, bos_token_id: 248044, dtype: 'bfloat16',
      eos_token_id: 248044, full_attention_interval: 4, head_dim: 256, hidden_act: 'silu', hidden_size: 1024,
      initializer_range: 0.02, intermediate_size: 3584, layer_types: layerTypes(24), linear_conv_kernel_dim: 4,
      linear_key_head_dim: 128, linear_num_key_heads: 16, linear_num_value_heads: 16, linear_value_head_dim: 128,
      mamba_ssm_dtype: 'float32', max_position_embeddings: 262144, model_type: 'qwen3_5_text', mtp_num_hidden_layers: 1,
      mtp_use_dedicated_embeddings: false, num_attention_heads: 8, num_hidden_layers: 24, num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_parameters: { mrope_interleaved: true, mrope_section: [11, 11, 10], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: 'default' },
      tie_word_embeddings: true, use_cache: true, vocab_size: 248320,
    },
    tie_word_embeddings: true, transformers_version: '4.57.0.dev0', video_token_id: 248057, vision_config: VISION,
    vision_end_token_id: 248054, vision_start_token_id: 248053,
  };
}

export function qwen35_35b_a3b(): ModelConfig {
  return {
    architectures: ['Qwen3_5MoeForConditionalGeneration'], image_token_id: 248056, model_type: 'qwen3_5_moe',
    text_config: {
      attention_bias: false, attention_dropout: 0.0, attn_output_gate: true, bos_token_id: 248044, dtype: 'bfloat16',
      eos_token_id: 248046, full_attention_interval: 4, head_dim: 256, hidden_act: 'silu', hidden_size: 2048,
      initializer_range: 0.02, layer_types: layerTypes(40), linear_conv_kernel_dim: 4, linear_key_head_dim: 128,
      linear_num_key_heads: 16, linear_num_value_heads: 32, linear_value_head_dim: 128, mamba_ssm_dtype: 'float32',
      max_position_embeddings: 262144, model_type: 'qwen3_5_moe_text', moe_intermediate_size: 512,
      mtp_num_hidden_layers: 1, mtp_use_dedicated_embeddings: false, num_attention_heads: 16, num_experts: 256,
      num_experts_per_tok: 8, num_hidden_layers: 40, num_key_value_heads: 2, output_router_logits: false,
      rms_norm_eps: 1e-6, rope_parameters: { mrope_interleaved: true, mrope_section: [11, 11, 10], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: 'default' },
      router_aux_loss_coef: 0.001, shared_expert_intermediate_size: 512, tie_word_embeddings: false, use_cache: true,
      vocab_size: 248320,
    },
    tie_word_embeddings: false, transformers_version: '4.57.0.dev0', video_token_id: 248057,
    vision_config: { ...VISION, depth: 27, hidden_size: 1152, intermediate_size: 4304, num_heads: 16, out_hidden_size: 2048, model_type: 'qwen3_5_moe' },
    vision_end_token_id: 248054, vision_start_token_id: 248053,
  };
}
