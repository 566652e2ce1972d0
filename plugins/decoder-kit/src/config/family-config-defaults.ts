/**
 * Each family's config defaults, exactly those of its transformers config class: a key missing from config.json
 * takes the value transformers would give it, never a value we find plausible. Keys a family's modeling code
 * reads with getattr(config, key, fallback) instead of a constructor default are marked so.
 */
export type FamilyName = 'qwen2' | 'qwen3' | 'qwen2_moe' | 'qwen3_moe' | 'llama';

export interface FamilyDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** null: defaults to num_attention_heads (every config class here does `if num_key_value_heads is None`). */
  num_key_value_heads: number | null;
  /** null: hidden_size // num_attention_heads. */
  head_dim: number | null;
  max_position_embeddings: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  rope_theta: number;
  /** q/k/v projections carry a bias; o_proj too when `oBias`. */
  qkvBias: boolean | 'attention_bias' | 'qkv_bias';
  oBias: boolean | 'attention_bias';
  qkNorm: boolean;
  /** 'mlp_bias': read that key (LlamaConfig default False). */
  mlpBias: boolean | 'mlp_bias';
  moe?: {
    num_experts: number;
    num_experts_per_tok: number;
    moe_intermediate_size: number;
    /** 0 when the family has no shared expert. */
    shared_expert_intermediate_size: number;
    decoder_sparse_step: number;
    norm_topk_prob: boolean;
  };
}

// transformers/models/qwen2/configuration_qwen2.py (Qwen2Config). head_dim: modeling_qwen2.py Qwen2Attention
// uses getattr(config, "head_dim", hidden_size // num_attention_heads); q/k/v always biased, o_proj never.
const QWEN2: FamilyDefaults = {
  vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 32, head_dim: null, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
  tie_word_embeddings: false, rope_theta: 10000, qkvBias: true, oBias: false, qkNorm: false, mlpBias: false,
};

// transformers/models/qwen3/configuration_qwen3.py (Qwen3Config): head_dim=128 (not hidden/heads),
// attention_bias=False applies to q/k/v and o; per-head q_norm/k_norm.
const QWEN3: FamilyDefaults = {
  ...QWEN2, head_dim: 128, qkvBias: 'attention_bias', oBias: 'attention_bias', qkNorm: true,
};

// transformers/models/qwen2_moe/configuration_qwen2_moe.py (Qwen2MoeConfig): norm_topk_prob=False,
// qkv_bias=True, shared expert 5632 wide.
const QWEN2_MOE: FamilyDefaults = {
  ...QWEN2, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 24, num_attention_heads: 16,
  num_key_value_heads: 16, qkvBias: 'qkv_bias',
  moe: {
    num_experts: 60, num_experts_per_tok: 4, moe_intermediate_size: 1408, shared_expert_intermediate_size: 5632,
    decoder_sparse_step: 1, norm_topk_prob: false,
  },
};

// transformers/models/qwen3_moe/configuration_qwen3_moe.py (Qwen3MoeConfig): norm_topk_prob=False (the released
// Qwen3-MoE configs set it true explicitly), no head_dim default so modeling's hidden // heads applies, no shared
// expert, num_key_value_heads=4.
const QWEN3_MOE: FamilyDefaults = {
  ...QWEN3, hidden_size: 2048, intermediate_size: 6144, num_hidden_layers: 24, num_attention_heads: 32,
  num_key_value_heads: 4, head_dim: null,
  moe: {
    num_experts: 128, num_experts_per_tok: 8, moe_intermediate_size: 768, shared_expert_intermediate_size: 0,
    decoder_sparse_step: 1, norm_topk_prob: false,
  },
};

// transformers/models/llama/configuration_llama.py (LlamaConfig): vocab 32000, 11008 wide MLP, 2048 positions,
// num_key_value_heads=None -> heads, head_dim=None -> hidden // heads, attention_bias and mlp_bias False.
const LLAMA: FamilyDefaults = {
  vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: null, head_dim: null, max_position_embeddings: 2048, rms_norm_eps: 1e-6,
  tie_word_embeddings: false, rope_theta: 10000, qkvBias: 'attention_bias', oBias: 'attention_bias', qkNorm: false,
  mlpBias: 'mlp_bias',
};

export const FAMILY_DEFAULTS: Readonly<Record<FamilyName, FamilyDefaults>> = {
  qwen2: QWEN2, qwen3: QWEN3, qwen2_moe: QWEN2_MOE, qwen3_moe: QWEN3_MOE, llama: LLAMA,
};

/** Architecture class names and model_type values to families. */
export const FAMILY_KEYS: Readonly<Record<string, FamilyName>> = {
  Qwen2ForCausalLM: 'qwen2', qwen2: 'qwen2',
  Qwen3ForCausalLM: 'qwen3', qwen3: 'qwen3',
  Qwen2MoeForCausalLM: 'qwen2_moe', qwen2_moe: 'qwen2_moe',
  Qwen3MoeForCausalLM: 'qwen3_moe', qwen3_moe: 'qwen3_moe',
  LlamaForCausalLM: 'llama', llama: 'llama',
};
