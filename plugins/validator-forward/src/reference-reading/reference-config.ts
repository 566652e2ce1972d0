/**
 * The validator's own reading of config.json, for the facts the forward math depends on. It is deliberately
 * written apart from any adapter's reader (it imports nothing from one): the adapter's reading and this one are
 * compared field by field (compare-config-facts.ts), so a default one of them gets wrong is a finding instead of
 * a model that imports cleanly and computes something else.
 *
 * Source of every default: the `__init__` signature of the transformers config class named in DEFAULTS, and for
 * head_dim the modeling file's `getattr(config, "head_dim", hidden_size // num_attention_heads)` where the class
 * has none. RoPE: transformers/modeling_rope_utils.py (_compute_default/linear/dynamic/yarn/llama3_parameters).
 */
import type { ConfigFacts, ModelConfig } from '../../../../src/index.js';
import { HybridReadingError, readHybridReference } from './reference-hybrid-config.js';

type Defaults = Record<string, number | boolean | null>;

// null = "no constructor default: derived" (see derive()).
const DEFAULTS: Record<string, Defaults> = {
  // configuration_qwen2.py Qwen2Config
  qwen2: {
    vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, head_dim: null, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 32768,
  },
  // configuration_qwen3.py Qwen3Config: head_dim=128, attention_bias=False
  qwen3: {
    vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, head_dim: 128, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 32768, attention_bias: false,
  },
  // configuration_qwen2_moe.py Qwen2MoeConfig
  qwen2_moe: {
    vocab_size: 151936, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 24,
    num_attention_heads: 16, num_key_value_heads: 16, head_dim: null, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 32768, qkv_bias: true,
    num_experts: 60, num_experts_per_tok: 4, moe_intermediate_size: 1408, shared_expert_intermediate_size: 5632,
    decoder_sparse_step: 1, norm_topk_prob: false,
  },
  // configuration_qwen3_moe.py Qwen3MoeConfig: no head_dim default, norm_topk_prob=False
  qwen3_moe: {
    vocab_size: 151936, hidden_size: 2048, intermediate_size: 6144, num_hidden_layers: 24,
    num_attention_heads: 32, num_key_value_heads: 4, head_dim: null, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 32768, attention_bias: false,
    num_experts: 128, num_experts_per_tok: 8, moe_intermediate_size: 768, decoder_sparse_step: 1,
    norm_topk_prob: false,
  },
  // configuration_llama.py LlamaConfig: num_key_value_heads=None (-> heads), head_dim=None (-> hidden // heads)
  llama: {
    vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: null, head_dim: null, rms_norm_eps: 1e-6,
    tie_word_embeddings: false, rope_theta: 10000, max_position_embeddings: 2048, attention_bias: false,
    mlp_bias: false,
  },
};

const CLASS_TO_TYPE: Record<string, string> = {
  Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3', Qwen2MoeForCausalLM: 'qwen2_moe',
  Qwen3MoeForCausalLM: 'qwen3_moe', LlamaForCausalLM: 'llama',
};

export class ReferenceConfigError extends Error {}

/** The facts, or a ReferenceConfigError when this reading cannot say (reported as a finding, not a crash). */
export function readReferenceConfig(config: ModelConfig): ConfigFacts {
  try {
    const hybrid = readHybridReference(config);
    if (hybrid) return hybrid;
  } catch (error) {
    if (error instanceof HybridReadingError) throw new ReferenceConfigError(error.message);
    throw error;
  }
  const c = config as Record<string, unknown>;
  const cls = Array.isArray(c.architectures) ? String(c.architectures[0]) : '';
  const type = CLASS_TO_TYPE[cls] ?? String(c.model_type ?? '');
  const defaults = DEFAULTS[type];
  if (!defaults) throw new ReferenceConfigError(`no reference reading for ${cls || type || 'this config'}`);
  const value = (key: string): unknown => (c[key] === undefined || c[key] === null ? defaults[key] : c[key]);
  const n = (key: string): number => {
    const v = value(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ReferenceConfigError(`${key} is ${JSON.stringify(v)}`);
    return v;
  };
  const b = (key: string): boolean => value(key) === true;

  const heads = n('num_attention_heads');
  const hidden = n('hidden_size');
  const kv = value('num_key_value_heads') ?? heads;
  const headDim = value('head_dim') ?? Math.floor(hidden / heads);
  const moe = 'num_experts' in defaults;
  const qwen3 = type === 'qwen3' || type === 'qwen3_moe';

  const facts: Record<string, ConfigFacts[string]> = {
    hidden_size: hidden,
    intermediate_size: n('intermediate_size'),
    num_hidden_layers: n('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kv as number,
    head_dim: headDim as number,
    vocab_size: n('vocab_size'),
    tie_word_embeddings: b('tie_word_embeddings'),
    rms_norm_eps: n('rms_norm_eps'),
    // Qwen2Attention: q/k/v bias=True, o_proj bias=False; Qwen3/Llama: attention_bias on all four.
    qkv_bias: type === 'qwen2' ? true : type === 'qwen2_moe' ? b('qkv_bias') : b('attention_bias'),
    o_proj_bias: type === 'qwen2' || type === 'qwen2_moe' ? false : b('attention_bias'),
    qk_norm: qwen3,
    mlp_bias: type === 'llama' ? b('mlp_bias') : false,
    ...referenceRope(c, headDim as number, n('max_position_embeddings'), n('rope_theta')),
  };
  if (moe) {
    const layers = n('num_hidden_layers');
    const step = n('decoder_sparse_step');
    const dense = new Set(Array.isArray(c.mlp_only_layers) ? (c.mlp_only_layers as number[]) : []);
    const sparse: number[] = [];
    // Qwen2MoeDecoderLayer / Qwen3MoeDecoderLayer: sparse iff not mlp_only and (idx + 1) % step == 0 (step > 0)
    for (let i = 0; i < layers; i++) if (!dense.has(i) && step > 0 && (i + 1) % step === 0) sparse.push(i);
    facts.num_experts = (c.num_local_experts ?? value('num_experts')) as number;
    facts.num_experts_per_tok = n('num_experts_per_tok');
    facts.moe_intermediate_size = n('moe_intermediate_size');
    facts.shared_expert_intermediate_size = type === 'qwen2_moe' ? n('shared_expert_intermediate_size') : 0;
    facts.norm_topk_prob = b('norm_topk_prob');
    facts.sparse_layers = sparse;
  }
  return facts;
}

/**
 * rope facts: rope_type, rotary dimensions, factor, attention scaling and the inv_freq vector at short lengths
 * (where dynamic equals default). Reads rope_parameters (v5) before rope_scaling (v4); `rope_type` before `type`.
 */
function referenceRope(c: Record<string, unknown>, headDim: number, maxPos: number, topTheta: number): Record<string, ConfigFacts[string]> {
  const p = ((c.rope_parameters ?? c.rope_scaling ?? {}) as Record<string, unknown>);
  const params = Object.values(p).length > 0 && Object.values(p).every((v) => typeof v === 'object' && v !== null)
    ? (Object.values(p)[0] as Record<string, unknown>) : p;
  const type = String(params.rope_type ?? params.type ?? 'default');
  const theta = typeof params.rope_theta === 'number' ? params.rope_theta : topTheta;
  const fraction = Number(params.partial_rotary_factor ?? c.partial_rotary_factor ?? 1);
  const dim = Math.trunc(headDim * fraction);
  const original = typeof params.original_max_position_embeddings === 'number' ? params.original_max_position_embeddings : maxPos;
  let factor = typeof params.factor === 'number' ? params.factor : 1;
  if (type === 'yarn' && typeof params.factor !== 'number') factor = maxPos / original;

  const invFreq: number[] = [];
  for (let j = 0; j < dim; j += 2) invFreq.push(Math.fround(1 / Math.fround(theta ** Math.fround(j / dim))));
  let scaling = 1;
  if (type === 'linear') invFreq.forEach((f, i) => { invFreq[i] = Math.fround(f / factor); });
  if (type === 'llama3') {
    // _compute_llama3_parameters: wavelengths above old_context / low_freq_factor divided by factor, below
    // old_context / high_freq_factor kept, a linear blend in (old_context / wavelen) between.
    const low = Number(params.low_freq_factor);
    const high = Number(params.high_freq_factor);
    invFreq.forEach((f, i) => {
      const wavelen = Math.fround((2 * Math.PI) / f);
      const llama = wavelen > original / low ? Math.fround(f / factor) : f;
      const medium = !(wavelen < original / high) && !(wavelen > original / low);
      const smooth = Math.fround((original / wavelen - low) / (high - low));
      invFreq[i] = medium ? Math.fround(Math.fround((1 - smooth) * Math.fround(llama / factor)) + Math.fround(smooth * llama)) : llama;
    });
  }
  if (type === 'yarn') {
    const m = (s: number, k: number): number => (s <= 1 ? 1 : 0.1 * k * Math.log(s) + 1);
    scaling = typeof params.attention_factor === 'number' ? params.attention_factor
      : params.mscale && params.mscale_all_dim ? m(factor, Number(params.mscale)) / m(factor, Number(params.mscale_all_dim))
        : m(factor, 1);
    const fast = Number(params.beta_fast || 32);
    const slow = Number(params.beta_slow || 1);
    const at = (rot: number): number => (dim * Math.log(original / (rot * 2 * Math.PI))) / (2 * Math.log(theta));
    const truncate = params.truncate !== false;
    let lo = truncate ? Math.floor(at(fast)) : at(fast);
    let hi = truncate ? Math.ceil(at(slow)) : at(slow);
    lo = Math.max(lo, 0);
    hi = Math.min(hi, dim - 1);
    if (hi === lo) hi += 0.001;
    invFreq.forEach((extra, i) => {
      const w = 1 - Math.min(1, Math.max(0, Math.fround((i - lo) / (hi - lo))));
      const inter = Math.fround(1 / Math.fround(factor * Math.fround(theta ** Math.fround((2 * i) / dim))));
      invFreq[i] = Math.fround(inter * (1 - w) + extra * w);
    });
  }
  return {
    rope_type: type,
    rotary_dim: dim,
    rope_factor: type === 'default' ? 1 : factor,
    rope_attention_scaling: scaling,
    rope_inv_freq: invFreq,
  };
}
