/**
 * config.json read the way transformers reads it, one family at a time: the family's config-class defaults
 * (family-config-defaults.ts), both serialisations (transformers 4: torch_dtype, rope_theta/rope_scaling,
 * num_experts; transformers 5: dtype, rope_parameters, num_local_experts, layer_types), and a refusal naming the
 * key for anything that would change the computation and is not understood. Sizes are checked to be sane
 * integers before any arithmetic uses them: the config comes from the network.
 */
import type { ModelConfig } from '../../../../src/index.js';
import type { MoeDims } from '../family/decoder-dims.js';
import { FAMILY_DEFAULTS, FAMILY_KEYS, type FamilyDefaults, type FamilyName } from './family-config-defaults.js';
import { readQuantization, type QuantizationReading } from './read-quantization.js';
import { readRopeParameters, type RopeReading } from './rope-parameters.js';
import { refuseConfig } from './refuse-config.js';

/** The MoE facts of config.json; how the experts are laid out is the checkpoint's to say, not the config's. */
export type MoeReading = Omit<MoeDims, 'expertsLayout'>;

export interface DecoderConfigReading {
  /** A FamilyName, or the model_type of a family that brings its own defaults table. */
  family: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  qkvBias: boolean;
  oBias: boolean;
  qkNorm: boolean;
  mlpBias: boolean;
  rope: RopeReading;
  /** One entry per layer; only "full_attention" is admitted by these families' readers today. */
  layerTypes: string[];
  moe?: MoeReading;
  /** torch_dtype (v4) or dtype (v5), when given. */
  dtype?: string;
  quantization?: QuantizationReading;
}

/** Keys that change nothing this project computes (generation, training, bookkeeping, PretrainedConfig's own). */
const INERT_KEYS = new Set([
  'architectures', 'model_type', 'transformers_version', '_name_or_path', 'auto_map', 'torch_dtype', 'dtype',
  'bos_token_id', 'eos_token_id', 'pad_token_id', 'sep_token_id', 'decoder_start_token_id', 'use_cache',
  'initializer_range', 'attention_dropout', 'output_router_logits', 'router_aux_loss_coef', 'router_jitter_noise',
  'pretraining_tp', 'max_window_layers', 'sliding_window', 'return_dict', 'output_hidden_states',
  'output_attentions', 'torchscript', 'use_bfloat16', 'tf_legacy_loss', 'pruned_heads', 'chunk_size_feed_forward',
  'is_encoder_decoder', 'is_decoder', 'cross_attention_hidden_size', 'add_cross_attention', 'tie_encoder_decoder',
  'id2label', 'label2id', 'problem_type', 'task_specific_params', 'tokenizer_class', 'prefix', 'finetuning_task',
  'max_length', 'min_length', 'do_sample', 'early_stopping', 'num_beams', 'num_beam_groups', 'diversity_penalty',
  'temperature', 'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size',
  'encoder_no_repeat_ngram_size', 'bad_words_ids', 'num_return_sequences', 'output_scores',
  'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'attn_implementation',
  '_attn_implementation_autoset', 'use_mrope', 'mlp_only_layers_note', 'keys_to_ignore_at_inference',
]);

/** Keys the readers below interpret. */
const READ_KEYS = new Set([
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads',
  'num_key_value_heads', 'head_dim', 'max_position_embeddings', 'rms_norm_eps', 'tie_word_embeddings',
  'rope_theta', 'rope_scaling', 'rope_parameters', 'partial_rotary_factor', 'hidden_act', 'attention_bias',
  'qkv_bias', 'mlp_bias', 'use_sliding_window', 'layer_types', 'quantization_config',
  'num_experts', 'num_local_experts', 'num_experts_per_tok', 'moe_intermediate_size',
  'shared_expert_intermediate_size', 'decoder_sparse_step', 'mlp_only_layers', 'norm_topk_prob',
]);

const MOE_ONLY = ['num_experts', 'num_local_experts', 'num_experts_per_tok', 'moe_intermediate_size',
  'shared_expert_intermediate_size', 'decoder_sparse_step', 'mlp_only_layers', 'norm_topk_prob'];

/** Which family a config belongs to, or undefined (the caller answers "unsupported architecture"). */
export function configFamily(config: ModelConfig): FamilyName | undefined {
  const arch = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  return (typeof arch === 'string' ? FAMILY_KEYS[arch] : undefined) ??
    (typeof config.model_type === 'string' ? FAMILY_KEYS[config.model_type] : undefined);
}

/**
 * `family` names the defaults table (FAMILY_DEFAULTS); a family of another transformers config class passes its
 * own `defaults` (and its model_type as `family`, for messages).
 */
export function readDecoderConfig(
  config: ModelConfig,
  family: string = configFamily(config) ?? refuseFamily(config),
  defaults?: FamilyDefaults,
): DecoderConfigReading {
  const d = defaults ?? FAMILY_DEFAULTS[family as FamilyName] ?? refuseFamily(config);
  const raw = config as Record<string, unknown>;
  const arch = (Array.isArray(config.architectures) && typeof config.architectures[0] === 'string')
    ? config.architectures[0] : family;

  for (const key of Object.keys(raw)) {
    if (raw[key] === null || raw[key] === undefined) continue;
    if (INERT_KEYS.has(key)) continue;
    if (!READ_KEYS.has(key)) refuseConfig(arch, key, 'is not understood');
    if (!d.moe && MOE_ONLY.includes(key)) refuseConfig(arch, key, `is an MoE setting, not part of ${family}`);
  }
  if (raw.qkv_bias !== undefined && d.qkvBias !== 'qkv_bias') refuseConfig(arch, 'qkv_bias', `is not part of ${family}`);
  if (raw.mlp_bias !== undefined && d.mlpBias !== 'mlp_bias') refuseConfig(arch, 'mlp_bias', `is not part of ${family}`);

  const int = (key: string, fallback: number, max: number, min = 1): number => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      refuseConfig(arch, key, `is ${JSON.stringify(value)}, expected an integer in ${min}..${max}`);
    }
    return value;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'boolean') refuseConfig(arch, key, `is ${JSON.stringify(value)}, expected true or false`);
    return value;
  };
  const flag = (spec: boolean | string, fallback: boolean): boolean => (typeof spec === 'boolean' ? spec : bool(spec, fallback));

  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') refuseConfig(arch, 'hidden_act', `is ${JSON.stringify(act)}; supported: "silu"`);
  if (bool('use_sliding_window', false)) refuseConfig(arch, 'use_sliding_window', 'is true; sliding-window attention is not implemented');

  const hidden = int('hidden_size', d.hidden_size, 65536);
  const heads = int('num_attention_heads', d.num_attention_heads, 1024);
  const kvHeads = int('num_key_value_heads', d.num_key_value_heads ?? heads, 1024);
  if (heads % kvHeads !== 0) refuseConfig(arch, 'num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`);
  const headDim = int('head_dim', d.head_dim ?? Math.floor(hidden / heads), 4096);
  const layers = int('num_hidden_layers', d.num_hidden_layers, 1000);
  const maxPositionEmbeddings = int('max_position_embeddings', d.max_position_embeddings, 1 << 30);
  const eps = raw.rms_norm_eps ?? d.rms_norm_eps;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) refuseConfig(arch, 'rms_norm_eps', `is ${JSON.stringify(eps)}`);

  const layerTypes = readLayerTypes(arch, raw.layer_types, layers);

  let moe: MoeReading | undefined;
  if (d.moe) {
    // transformers 5 renamed num_experts to num_local_experts for some families; either spelling, not both differing.
    const v4 = raw.num_experts;
    const v5 = raw.num_local_experts;
    if (v4 !== undefined && v5 !== undefined && v4 !== v5) refuseConfig(arch, 'num_local_experts', `${String(v5)} disagrees with num_experts ${String(v4)}`);
    const experts = int(v5 !== undefined ? 'num_local_experts' : 'num_experts', d.moe.num_experts, 4096);
    const topK = int('num_experts_per_tok', d.moe.num_experts_per_tok, experts);
    const mlpOnly = raw.mlp_only_layers ?? [];
    if (!Array.isArray(mlpOnly) || !mlpOnly.every((v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < layers)) {
      refuseConfig(arch, 'mlp_only_layers', `is ${JSON.stringify(mlpOnly).slice(0, 40)}, expected layer indices below ${layers}`);
    }
    moe = {
      experts,
      topK,
      moeIntermediate: int('moe_intermediate_size', d.moe.moe_intermediate_size, 1 << 20),
      sharedIntermediate: d.moe.shared_expert_intermediate_size === 0
        ? (raw.shared_expert_intermediate_size !== undefined ? refuseConfig(arch, 'shared_expert_intermediate_size', `is not part of ${family}`) : 0)
        : int('shared_expert_intermediate_size', d.moe.shared_expert_intermediate_size, 1 << 20, 0),
      decoderSparseStep: int('decoder_sparse_step', d.moe.decoder_sparse_step, 1000),
      mlpOnlyLayers: [...new Set(mlpOnly as number[])],
      normTopkProb: bool('norm_topk_prob', d.moe.norm_topk_prob),
    };
  }

  const dtype = raw.dtype ?? raw.torch_dtype;
  const quantization = readQuantization(arch, raw.quantization_config);
  return {
    family,
    hidden,
    intermediate: int('intermediate_size', d.intermediate_size, 1 << 20),
    layers,
    heads,
    kvHeads,
    headDim,
    vocab: int('vocab_size', d.vocab_size, 10_000_000),
    tied: bool('tie_word_embeddings', d.tie_word_embeddings),
    rmsNormEps: eps,
    maxPositionEmbeddings,
    qkvBias: flag(d.qkvBias, d.qkvBias === 'qkv_bias'),
    oBias: flag(d.oBias, false),
    qkNorm: d.qkNorm,
    mlpBias: flag(d.mlpBias, false),
    rope: readRopeParameters(arch, raw, headDim, maxPositionEmbeddings, false, d.rope_theta),
    layerTypes,
    moe,
    ...(typeof dtype === 'string' ? { dtype } : {}),
    ...(quantization ? { quantization } : {}),
  };
}

function readLayerTypes(arch: string, value: unknown, layers: number): string[] {
  if (value === undefined || value === null) return new Array<string>(layers).fill('full_attention');
  if (!Array.isArray(value) || value.length !== layers) refuseConfig(arch, 'layer_types', `must list ${layers} layers`);
  value.forEach((type, i) => {
    if (type !== 'full_attention') refuseConfig(arch, `layer_types[${i}]`, `is ${JSON.stringify(type)}; supported: "full_attention"`);
  });
  return value as string[];
}

function refuseFamily(config: ModelConfig): never {
  refuseConfig(String(config.architectures?.[0] ?? config.model_type ?? 'config'), 'architectures', 'names no family this reader knows');
}
