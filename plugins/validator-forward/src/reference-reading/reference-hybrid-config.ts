/**
 * The validator's own reading of the hybrid Qwen configs (Qwen3-Next, Qwen3.5, Qwen3.5-MoE and their text-only
 * classes), written apart from the adapter's (arch-qwen's families) like the rest of reference-reading/: the two
 * are compared field by field, so a default one of them gets wrong fails the import.
 *
 * Defaults: the dataclass fields of transformers' Qwen3NextConfig (configuration_qwen3_next.py),
 * Qwen3_5TextConfig (configuration_qwen3_5.py) and Qwen3_5MoeTextConfig (configuration_qwen3_5_moe.py);
 * partial_rotary_factor 0.25 from their __post_init__ (`kwargs.setdefault`); layer_types from
 * full_attention_interval (default 4) when absent. The wrappers (model_type qwen3_5 / qwen3_5_moe) hold the text
 * model in text_config and its tensors under model.language_model.
 */
import type { ConfigFacts, ModelConfig } from '../../../../src/index.js';

type Json = Record<string, unknown>;

interface HybridDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  moe?: { num_experts: number; num_experts_per_tok: number; moe_intermediate_size: number; shared_expert_intermediate_size: number; norm_topk_prob: boolean; everyLayer: boolean };
}

const TEXT_DEFAULTS: Record<string, HybridDefaults> = {
  qwen3_next: {
    vocab_size: 151936, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 48, num_attention_heads: 16,
    num_key_value_heads: 2, head_dim: 256,
    moe: { num_experts: 512, num_experts_per_tok: 10, moe_intermediate_size: 512, shared_expert_intermediate_size: 512, norm_topk_prob: true, everyLayer: false },
  },
  qwen3_5_text: {
    vocab_size: 248320, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 32, num_attention_heads: 16,
    num_key_value_heads: 4, head_dim: 256,
  },
  // intermediate_size / decoder_sparse_step / mlp_only_layers / norm_topk_prob are removed from this class: every
  // layer is sparse and Qwen3VLMoeTextTopKRouter always renormalises.
  qwen3_5_moe_text: {
    vocab_size: 248320, hidden_size: 2048, intermediate_size: 0, num_hidden_layers: 40, num_attention_heads: 16,
    num_key_value_heads: 2, head_dim: 256,
    moe: { num_experts: 256, num_experts_per_tok: 8, moe_intermediate_size: 512, shared_expert_intermediate_size: 512, norm_topk_prob: true, everyLayer: true },
  },
};

/** architectures[0] or model_type -> [text model_type, wrapped in text_config]. */
const KINDS: Record<string, [string, boolean]> = {
  Qwen3NextForCausalLM: ['qwen3_next', false], qwen3_next: ['qwen3_next', false],
  Qwen3_5ForConditionalGeneration: ['qwen3_5_text', true], qwen3_5: ['qwen3_5_text', true],
  Qwen3_5ForCausalLM: ['qwen3_5_text', false], qwen3_5_text: ['qwen3_5_text', false],
  Qwen3_5MoeForConditionalGeneration: ['qwen3_5_moe_text', true], qwen3_5_moe: ['qwen3_5_moe_text', true],
  Qwen3_5MoeForCausalLM: ['qwen3_5_moe_text', false], qwen3_5_moe_text: ['qwen3_5_moe_text', false],
};

export class HybridReadingError extends Error {}

/** The hybrid text model's facts, or undefined when the config is not one of these types. */
export function readHybridReference(config: ModelConfig): ConfigFacts | undefined {
  const c = config as Json;
  const cls = Array.isArray(c.architectures) ? String(c.architectures[0]) : '';
  const kind = KINDS[cls] ?? KINDS[String(c.model_type ?? '')];
  if (!kind) return undefined;
  const [textType, wrapped] = kind;
  const t = (wrapped ? (c.text_config ?? {}) : c) as Json;
  const d = TEXT_DEFAULTS[textType]!;
  const get = (key: string, fallback: unknown): unknown => (t[key] === undefined || t[key] === null ? fallback : t[key]);
  const num = (key: string, fallback: number): number => {
    const v = get(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new HybridReadingError(`${key} is ${JSON.stringify(v)}`);
    return v;
  };
  const layers = num('num_hidden_layers', d.num_hidden_layers);
  const headDim = num('head_dim', d.head_dim);

  let layerTypes = t.layer_types as unknown;
  if (layerTypes === undefined || layerTypes === null) {
    const interval = num('full_attention_interval', 4);
    layerTypes = Array.from({ length: layers }, (_, i) => ((i + 1) % interval ? 'linear_attention' : 'full_attention'));
  }

  // Rotary: rope_parameters (v5) or the top-level keys (v4); only the default type is a rotation these models use.
  const rope = (t.rope_parameters ?? t.rope_scaling ?? {}) as Json;
  const theta = Number(rope.rope_theta ?? t.rope_theta ?? 10000);
  const fraction = Number(rope.partial_rotary_factor ?? t.partial_rotary_factor ?? 0.25);
  const rotaryDim = Math.trunc(headDim * fraction);
  const invFreq: number[] = [];
  for (let j = 0; j < rotaryDim; j += 2) invFreq.push(Math.fround(1 / Math.fround(theta ** Math.fround(j / rotaryDim))));

  // transformers 5 ties by the wrapper's flag, 4.x by the text config's; a file where they differ is refused by
  // the adapter, so either answers the same whenever both exist.
  const tiedTop = wrapped ? c.tie_word_embeddings : undefined;
  const tied = (t.tie_word_embeddings ?? tiedTop ?? false) === true;
  const bias = get('attention_bias', false) === true;
  const facts: Record<string, ConfigFacts[string]> = {
    hidden_size: num('hidden_size', d.hidden_size),
    intermediate_size: d.intermediate_size === 0 ? 0 : num('intermediate_size', d.intermediate_size),
    num_hidden_layers: layers,
    num_attention_heads: num('num_attention_heads', d.num_attention_heads),
    num_key_value_heads: num('num_key_value_heads', d.num_key_value_heads),
    head_dim: headDim,
    vocab_size: num('vocab_size', d.vocab_size),
    tie_word_embeddings: tied,
    rms_norm_eps: num('rms_norm_eps', 1e-6),
    qkv_bias: bias,
    o_proj_bias: bias,
    qk_norm: true,
    mlp_bias: false,
    rope_type: String(rope.rope_type ?? rope.type ?? 'default') === 'mrope' ? 'default' : String(rope.rope_type ?? rope.type ?? 'default'),
    rotary_dim: rotaryDim,
    rope_factor: 1,
    rope_attention_scaling: 1,
    rope_inv_freq: invFreq,
    // Qwen3NextAttention: q_proj doubled (query and sigmoid gate per head); Qwen3NextRMSNorm: 1 + w everywhere but
    // the gated norm inside the DeltaNet layers.
    attn_output_gate: true,
    norm_zero_centred: true,
    // The schedule as the indices of the full-attention layers (ConfigFacts holds numbers, not string lists).
    full_attention_layers: (layerTypes as unknown[]).flatMap((type, i) => (type === 'full_attention' ? [i] : [])),
    linear_conv_kernel_dim: num('linear_conv_kernel_dim', 4),
    linear_key_head_dim: num('linear_key_head_dim', 128),
    linear_value_head_dim: num('linear_value_head_dim', 128),
    linear_num_key_heads: num('linear_num_key_heads', 16),
    linear_num_value_heads: num('linear_num_value_heads', 32),
    tensor_prefix: wrapped ? 'model.language_model' : 'model',
  };
  const m = d.moe;
  if (m) {
    const experts = num('num_experts', m.num_experts);
    if (experts > 0) {
      const step = m.everyLayer ? 1 : num('decoder_sparse_step', 1);
      const dense = new Set(m.everyLayer || !Array.isArray(t.mlp_only_layers) ? [] : (t.mlp_only_layers as number[]));
      const sparse: number[] = [];
      // Qwen3NextDecoderLayer: sparse iff not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
      for (let i = 0; i < layers; i++) if (!dense.has(i) && (i + 1) % step === 0) sparse.push(i);
      facts.num_experts = experts;
      facts.num_experts_per_tok = num('num_experts_per_tok', m.num_experts_per_tok);
      facts.moe_intermediate_size = num('moe_intermediate_size', m.moe_intermediate_size);
      facts.shared_expert_intermediate_size = num('shared_expert_intermediate_size', m.shared_expert_intermediate_size);
      facts.norm_topk_prob = m.everyLayer ? true : get('norm_topk_prob', m.norm_topk_prob) === true;
      facts.sparse_layers = sparse;
    }
  }
  return facts;
}
