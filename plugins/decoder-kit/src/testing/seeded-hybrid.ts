/**
 * Test tooling: tiny Qwen3-Next / Qwen3.5 (dense and MoE) configs with the key sets of the released files
 * (Qwen3-Next-80B-A3B: top-level, full_attention_interval and no layer_types; Qwen3.5-0.8B / 35B-A3B: a
 * ForConditionalGeneration wrapper with text_config, rope_parameters with mrope_section, layer_types), and the
 * hybrid layers' tensors for write-seeded-model.ts. Zero-centred norms are seeded around 0 (so forgetting the
 * 1 + w shows), the gated norm inside Gated DeltaNet around 1 (a plain weight).
 */
import type { ModelConfig } from '../../../../src/index.js';
import type { ForwardDims } from '../reference/forward-dims.js';
import { isLinearLayer } from '../reference/forward-hybrid.js';
import { linearAttentionSizes } from '../linear-attention/gated-delta-net.js';

export type HybridSeededFamily = 'qwen3_next' | 'qwen3_5' | 'qwen3_5_moe';

interface Tensor {
  name: string;
  shape: number[];
  center: number;
  spread: number;
}

const LINEAR = {
  linear_conv_kernel_dim: 4,
  linear_key_head_dim: 8,
  linear_value_head_dim: 8,
  linear_num_key_heads: 2,
  linear_num_value_heads: 4,
};
const TEXT = {
  hidden_size: 32,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  vocab_size: 96,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 512,
  hidden_act: 'silu',
  attention_bias: false,
  ...LINEAR,
};
const MOE = { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16, shared_expert_intermediate_size: 24 };
const LAYER_TYPES = ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'];
/** rotary dim 16 · 0.25 = 4: two frequency slots, split [1, 1, 0] over (temporal, height, width). */
const ROPE_3_5 = { rope_type: 'default', rope_theta: 10000000, partial_rotary_factor: 0.25, mrope_section: [1, 1, 0], mrope_interleaved: true };

export const TINY_HYBRID: Record<HybridSeededFamily, ModelConfig> = {
  qwen3_next: {
    architectures: ['Qwen3NextForCausalLM'],
    model_type: 'qwen3_next',
    ...TEXT,
    intermediate_size: 48,
    rope_theta: 1000000,
    partial_rotary_factor: 0.25,
    full_attention_interval: 4,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    norm_topk_prob: true,
    ...MOE,
  },
  qwen3_5: {
    architectures: ['Qwen3_5ForConditionalGeneration'],
    model_type: 'qwen3_5',
    text_config: { model_type: 'qwen3_5_text', ...TEXT, intermediate_size: 48, layer_types: LAYER_TYPES, rope_parameters: ROPE_3_5 },
    vision_config: { model_type: 'qwen3_5_vision', depth: 1, hidden_size: 16, spatial_merge_size: 2 },
    image_token_id: 90,
    video_token_id: 91,
  },
  qwen3_5_moe: {
    architectures: ['Qwen3_5MoeForConditionalGeneration'],
    model_type: 'qwen3_5_moe',
    text_config: { model_type: 'qwen3_5_moe_text', ...TEXT, layer_types: LAYER_TYPES, rope_parameters: ROPE_3_5, ...MOE },
    vision_config: { model_type: 'qwen3_5_moe_vision', depth: 1, hidden_size: 16, spatial_merge_size: 2 },
    image_token_id: 90,
    video_token_id: 91,
  },
};

/** The full-attention layer's tensors: q_proj doubled for the output gate, zero-centred q/k norms. */
export function gatedAttentionTensors(p: string, dims: ForwardDims): Tensor[] {
  const { hidden: H, heads: nH, kvHeads: nKV, headDim: D } = dims;
  const linear = (name: string, out: number, inDim: number): Tensor => ({ name, shape: [out, inDim], center: 0, spread: 2 / Math.sqrt(inDim) });
  return [
    linear(`${p}.self_attn.q_proj.weight`, (dims.attentionOutputGate ? 2 : 1) * nH * D, H),
    linear(`${p}.self_attn.k_proj.weight`, nKV * D, H),
    linear(`${p}.self_attn.v_proj.weight`, nKV * D, H),
    linear(`${p}.self_attn.o_proj.weight`, H, nH * D),
    { name: `${p}.self_attn.q_norm.weight`, shape: [D], center: 0, spread: 0.2 },
    { name: `${p}.self_attn.k_norm.weight`, shape: [D], center: 0, spread: 0.2 },
  ];
}

/**
 * A Gated DeltaNet layer's tensors: Qwen3-Next's fused in_proj_qkvz / in_proj_ba or Qwen3.5's split projections.
 * A_log spans [−2, 1] (decay rates exp(A_log) from 0.14 to 2.7): slow and fast forgetting heads both, so a
 * wrong recurrence shows in the logits (transformers' init, log uniform(0, 16), mostly forgets within a token).
 */
export function linearAttentionTensors(p: string, dims: ForwardDims, layout: 'fused' | 'split'): Tensor[] {
  const d = dims.hybrid!.linear;
  const H = dims.hidden;
  const { keyWidth, valueWidth, convChannels } = linearAttentionSizes(d);
  const la = `${p}.linear_attn`;
  const linear = (name: string, out: number, inDim: number): Tensor => ({ name: `${la}.${name}`, shape: [out, inDim], center: 0, spread: 2 / Math.sqrt(inDim) });
  const projections = layout === 'fused'
    ? [linear('in_proj_qkvz.weight', 2 * keyWidth + 2 * valueWidth, H), linear('in_proj_ba.weight', 2 * d.valueHeads, H)]
    : [linear('in_proj_qkv.weight', convChannels, H), linear('in_proj_z.weight', valueWidth, H), linear('in_proj_b.weight', d.valueHeads, H), linear('in_proj_a.weight', d.valueHeads, H)];
  return [
    ...projections,
    { name: `${la}.conv1d.weight`, shape: [convChannels, 1, d.kernel], center: 0, spread: 0.5 },
    { name: `${la}.dt_bias`, shape: [d.valueHeads], center: 1, spread: 0.5 },
    { name: `${la}.A_log`, shape: [d.valueHeads], center: -0.5, spread: 1.5 },
    { name: `${la}.norm.weight`, shape: [d.valueDim], center: 1, spread: 0.2 },
    linear('out_proj.weight', H, valueWidth),
  ];
}

/** Whether layer i of these dims gets Gated DeltaNet tensors. */
export function seededLinearLayer(dims: ForwardDims, layer: number): boolean {
  return isLinearLayer(dims, layer);
}

/** Small stand-ins for what the wrappers carry beside the text decoder (kept, never read by the forward pass). */
export function wrapperExtraTensors(dims: ForwardDims): Tensor[] {
  return [
    { name: 'model.visual.patch_embed.proj.weight', shape: [16, 3, 2, 4, 4], center: 0, spread: 0.1 },
    { name: 'model.visual.merger.linear_fc2.weight', shape: [dims.hidden, 16], center: 0, spread: 0.1 },
    { name: 'mtp.fc.weight', shape: [dims.hidden, 2 * dims.hidden], center: 0, spread: 0.1 },
    { name: 'mtp.norm.weight', shape: [dims.hidden], center: 0, spread: 0.2 },
  ];
}
