/**
 * The config facts the forward math needs (reference/qwen-family.md §0, §1, §2.3), as the reference's own reading
 * of config.json. The import path no longer uses it: the ONNX graph (onnx/graph-dims.ts) and the reference the
 * validator calls (forward-dims-of.ts) both compute from the family's DecoderDims, so the kit holds one reading of
 * a config. This reader remains for tests, benches and scripts that hand the reference a folder without a family,
 * and as a second reading the tests compare the family's with (forward-dims-of.test.ts). It fails with a clear
 * message on anything it cannot compute.
 */
import type { ModelConfig } from '../../../../src/index.js';
import type { RopeScaling, RopeSpec } from '../blocks/rope-spec.js';
import { bool, int, num, unsupported } from './forward-fields.js';
import { HYBRID_FAMILIES, readHybridForwardDims, type ForwardHybrid } from './forward-hybrid.js';

export type ForwardFamily = 'qwen2' | 'qwen3' | 'qwen2_moe' | 'qwen3_moe' | 'llama' | 'qwen3_next' | 'qwen3_5' | 'qwen3_5_moe';

export interface ForwardMoe {
  experts: number;
  topK: number;
  moeIntermediate: number;
  /** 0 when there is no shared expert (qwen3_moe). */
  sharedIntermediate: number;
  decoderSparseStep: number;
  mlpOnlyLayers: number[];
  normTopkProb: boolean;
  /** Every layer is sparse whatever decoder_sparse_step says (Qwen3.5-MoE, which has no such key). */
  allSparse?: boolean;
}

export interface ForwardDims {
  family: ForwardFamily;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
  ropeTheta: number;
  /** The rotary embedding (theta again, partial factor, scaling, mrope sections): blocks/rotary.ts computes it. */
  rope: RopeSpec;
  rmsNormEps: number;
  qkvBias: boolean;
  oBias: boolean;
  qkNorm: boolean;
  moe?: ForwardMoe;
  /** Prefix of the text decoder's tensors: 'model', or 'model.language_model' in the Qwen3.5 wrappers. */
  tensorPrefix: string;
  /** Every RMSNorm scales by 1 + w (Qwen3-Next, Qwen3.5), except the gated norm inside Gated DeltaNet. */
  normZeroCentred: boolean;
  /** q_proj has 2·nH·D rows (per head: query, then gate) and the attention output is multiplied by sigmoid(gate). */
  attentionOutputGate: boolean;
  /** No position_ids input: positions are cumsum(attention_mask) − 1 (Qwen3.5 under transformers.js 4.3.1). */
  positionsFromMask: boolean;
  /**
   * transformers.js loads this folder as image-text-to-text in text-only mode (architectures[0] is a
   * …ForConditionalGeneration): it wants onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx.
   */
  embedsSession: boolean;
  /** Which layers are Gated DeltaNet and their sizes; absent = every layer full attention. */
  hybrid?: ForwardHybrid;
  /** Facts that do not stop the computation but limit where it is exact. */
  notes: string[];
}

const FAMILIES: Record<string, ForwardFamily> = {
  qwen2: 'qwen2',
  Qwen2ForCausalLM: 'qwen2',
  qwen3: 'qwen3',
  Qwen3ForCausalLM: 'qwen3',
  qwen2_moe: 'qwen2_moe',
  Qwen2MoeForCausalLM: 'qwen2_moe',
  qwen3_moe: 'qwen3_moe',
  Qwen3MoeForCausalLM: 'qwen3_moe',
  // LlamaConfig defaults (configuration_llama.py): attention_bias and mlp_bias false, rms_norm_eps 1e-6,
  // rope_theta 10000, head_dim hidden_size / num_attention_heads, tie_word_embeddings false.
  llama: 'llama',
  LlamaForCausalLM: 'llama',
};

/** Reads the shapes and constants of a qwen2/qwen3(/MoE) or llama config, applying the documented defaults. */
export function readForwardDims(config: ModelConfig): ForwardDims {
  const key = config.model_type ?? config.architectures?.[0] ?? '';
  const hybrid = HYBRID_FAMILIES[key] ?? HYBRID_FAMILIES[config.architectures?.[0] ?? ''];
  if (hybrid) return readHybridForwardDims(config, hybrid);
  const family = FAMILIES[key] ?? FAMILIES[config.architectures?.[0] ?? ''];
  if (!family) unsupported(`model_type ${JSON.stringify(config.model_type)} is not a decoder the forward pass covers (Qwen2/Qwen3 and MoE, Llama)`);
  if (config.mlp_bias === true) unsupported('mlp_bias is true: MLP biases are not implemented');

  const rope = readRope(config);
  const ropeTheta = rope.theta;

  const hidden = int(config, 'hidden_size');
  const heads = int(config, 'num_attention_heads');
  const kvHeads = int(config, 'num_key_value_heads', heads);
  // Qwen3Config defaults head_dim to 128; Qwen2Config, Qwen2MoeConfig and Qwen3MoeConfig have none (hidden // heads).
  const headDim = int(config, 'head_dim', family === 'qwen3' ? 128 : Math.floor(hidden / heads));
  if (heads === 0 || kvHeads === 0 || heads % kvHeads !== 0) {
    unsupported(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  }
  if (headDim === 0 || headDim % 2 !== 0) unsupported(`head_dim ${headDim} must be even for RoPE`);
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') unsupported(`hidden_act ${JSON.stringify(act)} is not implemented (only "silu")`);

  const isQwen3 = family === 'qwen3' || family === 'qwen3_moe';
  const attentionBias = bool(config, 'attention_bias', false);
  const qkvBias = family === 'qwen2' ? true : family === 'qwen2_moe' ? bool(config, 'qkv_bias', true) : attentionBias;

  let moe: ForwardMoe | undefined;
  if (family === 'qwen2_moe' || family === 'qwen3_moe') {
    const mlpOnly = config.mlp_only_layers;
    moe = {
      experts: int(config, 'num_experts'),
      topK: int(config, 'num_experts_per_tok'),
      moeIntermediate: int(config, 'moe_intermediate_size'),
      sharedIntermediate: family === 'qwen2_moe' ? int(config, 'shared_expert_intermediate_size', 0) : 0,
      decoderSparseStep: Math.max(1, int(config, 'decoder_sparse_step', 1)),
      mlpOnlyLayers: Array.isArray(mlpOnly) ? mlpOnly.filter((v): v is number => typeof v === 'number') : [],
      // Qwen2MoeConfig and Qwen3MoeConfig both default norm_topk_prob to False.
      normTopkProb: bool(config, 'norm_topk_prob', false),
    };
    if (moe.topK > moe.experts) unsupported(`num_experts_per_tok ${moe.topK} exceeds num_experts ${moe.experts}`);
  }

  const notes: string[] = [];
  if (config.use_sliding_window === true) {
    notes.push(`use_sliding_window is true: sliding-window attention is not applied, so results are exact only up to ${String(config.sliding_window)} tokens`);
  }
  return {
    family,
    hidden,
    intermediate: int(config, 'intermediate_size', moe ? 0 : undefined),
    layers: int(config, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    vocab: int(config, 'vocab_size'),
    tied: bool(config, 'tie_word_embeddings', false),
    ropeTheta,
    rope,
    rmsNormEps: num(config, 'rms_norm_eps', 1e-6),
    qkvBias,
    // Qwen3 and Llama put attention_bias on o_proj as well; Qwen2(-MoE) never has an o_proj bias.
    oBias: (isQwen3 || family === 'llama') && attentionBias,
    qkNorm: isQwen3,
    moe,
    tensorPrefix: 'model',
    normZeroCentred: false,
    attentionOutputGate: false,
    positionsFromMask: false,
    embedsSession: false,
    notes,
  };
}

type RopeFields = Record<string, unknown>;

/**
 * rope_parameters (transformers 5) or rope_scaling (earlier; `type` before `rope_type`), with rope_theta and
 * partial_rotary_factor nested or top-level, as modeling_rope_utils.py reads them. Unknown types are refused.
 */
export function readRope(config: ModelConfig, defaultPartialRotaryFactor = 1): RopeSpec {
  const nested = config.rope_parameters;
  const legacy = config.rope_scaling;
  const params: RopeFields = (nested && typeof nested === 'object' ? nested : legacy && typeof legacy === 'object' ? legacy : {}) as RopeFields;
  const type = (params.rope_type ?? params.type ?? 'default') as unknown;
  const number = (value: unknown, what: string, fallback?: number): number => {
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) unsupported(`RoPE ${what} is ${JSON.stringify(value)}, expected a positive number`);
    return value;
  };
  const theta = number(params.rope_theta ?? config.rope_theta, 'rope_theta', 10000);
  const partialRotaryFactor = number(params.partial_rotary_factor ?? config.partial_rotary_factor, 'partial_rotary_factor', defaultPartialRotaryFactor);
  const maxPositions = config.max_position_embeddings;
  const original = () => number(params.original_max_position_embeddings ?? maxPositions, 'original_max_position_embeddings');
  let scaling: RopeScaling | undefined;
  switch (type) {
    case 'default':
      break;
    case 'linear':
      scaling = { type, factor: number(params.factor, 'factor') };
      break;
    case 'dynamic':
      scaling = { type, factor: number(params.factor, 'factor'), maxPositionEmbeddings: number(maxPositions, 'max_position_embeddings') };
      break;
    case 'yarn': {
      const originalMax = original();
      const optional = (key: string) => (params[key] === undefined || params[key] === null ? undefined : number(params[key], key));
      scaling = {
        type,
        // transformers: factor absent -> max_position_embeddings / original_max_position_embeddings.
        factor: params.factor === undefined || params.factor === null ? number(maxPositions, 'max_position_embeddings') / originalMax : number(params.factor, 'factor'),
        originalMaxPositionEmbeddings: originalMax,
        betaFast: optional('beta_fast'),
        betaSlow: optional('beta_slow'),
        truncate: params.truncate === false ? false : true,
        attentionFactor: optional('attention_factor'),
        mscale: optional('mscale'),
        mscaleAllDim: optional('mscale_all_dim'),
      };
      break;
    }
    case 'llama3':
      scaling = {
        type,
        factor: number(params.factor, 'factor'),
        lowFreqFactor: number(params.low_freq_factor, 'low_freq_factor'),
        highFreqFactor: number(params.high_freq_factor, 'high_freq_factor'),
        originalMaxPositionEmbeddings: original(),
      };
      break;
    default:
      unsupported(`RoPE type ${JSON.stringify(type)} is not implemented (default, linear, dynamic, yarn, llama3)`);
  }
  const section = params.mrope_section;
  const mropeSection = Array.isArray(section) && section.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
    ? { sections: section as number[], interleaved: params.mrope_interleaved === true }
    : undefined;
  return { theta, partialRotaryFactor, ...(scaling ? { scaling } : {}), ...(mropeSection ? { mropeSection } : {}) };
}

/** A layer is sparse iff it is not in mlp_only_layers and (i+1) is a multiple of decoder_sparse_step (§2.3). */
export function isSparseLayer(dims: ForwardDims, layer: number): boolean {
  const moe = dims.moe;
  if (!moe || moe.experts === 0) return false;
  if (moe.allSparse) return true;
  return !moe.mlpOnlyLayers.includes(layer) && (layer + 1) % moe.decoderSparseStep === 0;
}

/**
 * inv_freq exactly as transformers computes it: the exponent (2i)/d formed in float32 from an integer range, the
 * power and the reciprocal rounded to float32 (§4 RoPE).
 */
export function ropeInverseFrequencies(dims: Pick<ForwardDims, 'headDim' | 'ropeTheta'>): Float32Array {
  const half = dims.headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / dims.headDim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(dims.ropeTheta, exponent)));
  }
  return out;
}

/** position_ids as HF and transformers.js make them: cumsum(mask) - 1, padded slots set to 1 (§4). */
export function positionIdsFromMask(mask: readonly number[]): number[] {
  let sum = 0;
  return mask.map((m) => {
    sum += m;
    return m === 0 ? 1 : sum - 1;
  });
}
