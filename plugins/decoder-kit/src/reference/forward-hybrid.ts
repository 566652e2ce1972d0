/**
 * The reference's own reading of the Qwen3-Next / Qwen3.5 hybrid configs (never the family's readDims or
 * readHybridLayout: the oracle must not share the code it checks). Defaults are transformers' config classes:
 * - qwen3_next: Qwen3NextConfig (models/qwen3_next/configuration_qwen3_next.py): vocab 151936, hidden 2048,
 *   intermediate 5632, 48 layers, 16 heads, 2 KV heads, head_dim 256, rms_norm_eps 1e-6, untied, no attention
 *   bias, num_experts 512, num_experts_per_tok 10, moe_intermediate_size 512, shared_expert_intermediate_size 512,
 *   decoder_sparse_step 1, mlp_only_layers [] (None becomes []), norm_topk_prob true.
 * - qwen3_5 / qwen3_5_text: Qwen3_5TextConfig (models/qwen3_5/configuration_qwen3_5.py): vocab 248320, hidden
 *   4096, intermediate 12288, 32 layers, 16 heads, 4 KV heads, head_dim 256; no MoE keys (dense MLP everywhere).
 * - qwen3_5_moe / qwen3_5_moe_text: Qwen3_5MoeTextConfig (models/qwen3_5_moe/configuration_qwen3_5_moe.py): vocab
 *   248320, hidden 2048, 40 layers, 16 heads, 2 KV heads, head_dim 256, num_experts 256, num_experts_per_tok 8,
 *   moe and shared expert 512. It deletes intermediate_size, decoder_sparse_step, norm_topk_prob and
 *   mlp_only_layers: every layer is sparse, and its router (Qwen3VLMoeTextTopKRouter) always renormalises top-k.
 * All three: partial_rotary_factor 0.25 (`kwargs.setdefault` in __post_init__), linear_conv_kernel_dim 4,
 * linear_key_head_dim / linear_value_head_dim 128, linear_num_key_heads 16, linear_num_value_heads 32, and
 * layer_types from full_attention_interval (4) when absent: layer i is full_attention iff (i + 1) % interval == 0.
 * Every RMSNorm is zero-centred (Qwen3NextRMSNorm: x̂ · (1 + w)) except the gated norm inside Gated DeltaNet
 * (Qwen3NextRMSNormGated: x̂ · w · silu(z)); attention always has the sigmoid output gate on a doubled q_proj.
 * The Qwen3.5 wrappers (model_type qwen3_5 / qwen3_5_moe) keep the text model in text_config (all defaults when
 * absent, as Qwen3_5Config does) and its tensors under model.language_model.
 */
import type { ModelConfig } from '../../../../src/index.js';
import type { LinearAttentionDims } from '../linear-attention/gated-delta-net.js';
import type { ForwardDims, ForwardMoe } from './forward-dims.js';
import { readRope } from './forward-dims.js';
import { bool, int, num, unsupported } from './forward-fields.js';

export type HybridFamily = 'qwen3_next' | 'qwen3_5' | 'qwen3_5_moe';
export type ForwardLayerType = 'linear_attention' | 'full_attention';

export interface ForwardHybrid {
  layerTypes: ForwardLayerType[];
  linear: LinearAttentionDims;
}

/** model_type or architectures[0] -> family (wrappers, text configs and text-only re-saves alike). */
export const HYBRID_FAMILIES: Record<string, HybridFamily> = {
  qwen3_next: 'qwen3_next',
  Qwen3NextForCausalLM: 'qwen3_next',
  qwen3_5: 'qwen3_5',
  qwen3_5_text: 'qwen3_5',
  Qwen3_5ForConditionalGeneration: 'qwen3_5',
  Qwen3_5ForCausalLM: 'qwen3_5',
  qwen3_5_moe: 'qwen3_5_moe',
  qwen3_5_moe_text: 'qwen3_5_moe',
  Qwen3_5MoeForConditionalGeneration: 'qwen3_5_moe',
  Qwen3_5MoeForCausalLM: 'qwen3_5_moe',
};

const WRAPPER_TYPES = new Set(['qwen3_5', 'qwen3_5_moe']);

const SIZES: Record<HybridFamily, { vocab: number; hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number }> = {
  qwen3_next: { vocab: 151936, hidden: 2048, intermediate: 5632, layers: 48, heads: 16, kvHeads: 2 },
  qwen3_5: { vocab: 248320, hidden: 4096, intermediate: 12288, layers: 32, heads: 16, kvHeads: 4 },
  qwen3_5_moe: { vocab: 248320, hidden: 2048, intermediate: 0, layers: 40, heads: 16, kvHeads: 2 },
};

function object(value: unknown): ModelConfig | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as ModelConfig) : undefined;
}

export function readHybridForwardDims(config: ModelConfig, family: HybridFamily): ForwardDims {
  const architecture = config.architectures?.[0] ?? '';
  const wrapped = WRAPPER_TYPES.has(String(config.model_type ?? '')) || (config.model_type === undefined && architecture.endsWith('ForConditionalGeneration'));
  if (wrapped && config.text_config !== undefined && config.text_config !== null && !object(config.text_config)) {
    unsupported('text_config is not an object');
  }
  const text: ModelConfig = wrapped ? object(config.text_config) ?? {} : config;
  const sizes = SIZES[family];
  const act = text.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish') unsupported(`hidden_act ${JSON.stringify(act)} is not implemented (only "silu")`);

  const hidden = int(text, 'hidden_size', sizes.hidden);
  const layers = int(text, 'num_hidden_layers', sizes.layers);
  const heads = int(text, 'num_attention_heads', sizes.heads);
  const kvHeads = int(text, 'num_key_value_heads', sizes.kvHeads);
  const headDim = int(text, 'head_dim', 256);
  if (heads === 0 || kvHeads === 0 || heads % kvHeads !== 0) unsupported(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (headDim === 0 || headDim % 2 !== 0) unsupported(`head_dim ${headDim} must be even for RoPE`);
  const rmsNormEps = num(text, 'rms_norm_eps', 1e-6);
  const rope = readRope(text, 0.25);
  const attentionBias = bool(text, 'attention_bias', false);

  // Tying: the wrapper class and its text config both have tie_word_embeddings (both default False); which one
  // transformers honours has moved between versions, so a folder where they disagree is refused.
  const topTied = typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : undefined;
  const textTied = wrapped && typeof text.tie_word_embeddings === 'boolean' ? text.tie_word_embeddings : undefined;
  if (topTied !== undefined && textTied !== undefined && topTied !== textTied) {
    unsupported(`tie_word_embeddings is ${topTied} at the top level but ${textTied} in text_config`);
  }
  const tied = topTied ?? textTied ?? false;

  return {
    family,
    hidden,
    intermediate: int(text, 'intermediate_size', sizes.intermediate),
    layers,
    heads,
    kvHeads,
    headDim,
    vocab: int(text, 'vocab_size', sizes.vocab),
    tied,
    ropeTheta: rope.theta,
    rope,
    rmsNormEps,
    qkvBias: attentionBias,
    oBias: attentionBias,
    qkNorm: true,
    moe: readMoe(text, family),
    tensorPrefix: wrapped ? 'model.language_model' : 'model',
    normZeroCentred: true,
    attentionOutputGate: true,
    positionsFromMask: family !== 'qwen3_next',
    embedsSession: architecture.endsWith('ForConditionalGeneration'),
    hybrid: readLayout(text, hidden, layers, rmsNormEps),
    notes: [],
  };
}

function readMoe(text: ModelConfig, family: HybridFamily): ForwardMoe | undefined {
  if (family === 'qwen3_5') return undefined;
  const next = family === 'qwen3_next';
  const mlpOnly = text.mlp_only_layers;
  const moe: ForwardMoe = {
    experts: int(text, 'num_experts', next ? 512 : 256),
    topK: int(text, 'num_experts_per_tok', next ? 10 : 8),
    moeIntermediate: int(text, 'moe_intermediate_size', 512),
    sharedIntermediate: int(text, 'shared_expert_intermediate_size', 512),
    decoderSparseStep: next ? Math.max(1, int(text, 'decoder_sparse_step', 1)) : 1,
    mlpOnlyLayers: next && Array.isArray(mlpOnly) ? mlpOnly.filter((v): v is number => typeof v === 'number') : [],
    normTopkProb: next ? bool(text, 'norm_topk_prob', true) : true,
    ...(next ? {} : { allSparse: true }),
  };
  if (moe.topK > moe.experts) unsupported(`num_experts_per_tok ${moe.topK} exceeds num_experts ${moe.experts}`);
  return moe;
}

function readLayout(text: ModelConfig, hidden: number, layers: number, eps: number): ForwardHybrid {
  const linear: LinearAttentionDims = {
    hidden,
    kernel: int(text, 'linear_conv_kernel_dim', 4),
    keyDim: int(text, 'linear_key_head_dim', 128),
    valueDim: int(text, 'linear_value_head_dim', 128),
    keyHeads: int(text, 'linear_num_key_heads', 16),
    valueHeads: int(text, 'linear_num_value_heads', 32),
    eps,
  };
  if (linear.kernel === 0 || linear.keyDim === 0 || linear.valueDim === 0 || linear.keyHeads === 0 || linear.valueHeads % linear.keyHeads !== 0 || linear.valueHeads === 0) {
    unsupported(`linear attention heads ${linear.keyHeads} key / ${linear.valueHeads} value (value heads must be a non-zero multiple of key heads)`);
  }
  const given = text.layer_types;
  let layerTypes: ForwardLayerType[];
  if (given === undefined || given === null) {
    const interval = Math.max(1, int(text, 'full_attention_interval', 4));
    layerTypes = Array.from({ length: layers }, (_, i) => ((i + 1) % interval === 0 ? 'full_attention' : 'linear_attention'));
  } else {
    if (!Array.isArray(given) || given.length !== layers || !given.every((t) => t === 'linear_attention' || t === 'full_attention')) {
      unsupported(`layer_types is not ${layers} entries of "linear_attention" / "full_attention"`);
    }
    layerTypes = given as ForwardLayerType[];
  }
  return { layerTypes, linear };
}

/** Whether layer `layer` of these dims is Gated DeltaNet. */
export function isLinearLayer(dims: Pick<ForwardDims, 'hybrid'>, layer: number): boolean {
  return dims.hybrid?.layerTypes[layer] === 'linear_attention';
}
