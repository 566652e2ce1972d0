/**
 * The text config of the hybrid Qwen decoders (Qwen3-Next, Qwen3.5, Qwen3.5-MoE): where it sits (top level, or
 * `text_config` of the Qwen3.5 wrappers), which keys it may hold, and the rotary reading (partial rotary, MRoPE
 * sections). Both serialisations: transformers 4 (torch_dtype, top-level rope_theta / partial_rotary_factor /
 * rope_scaling) and 5 (dtype, rope_parameters). A key that could change the computation and is not understood is
 * a refusal naming it; keys transformers itself ignores for the text forward pass are accepted.
 */
import type { ModelConfig } from '../../../../src/index.js';
import { refuse, type RopeSpec } from '../../../decoder-kit/index.js';

/** The class defaults of one text config (transformers' configuration_*.py, cited where each table is built). */
export interface HybridTextDefaults {
  vocab_size: number;
  hidden_size: number;
  /** 0: the config has no dense MLP width (Qwen3.5-MoE: every layer is sparse). */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rope_theta: number;
  /** Both classes set partial_rotary_factor 0.25 in __post_init__ (`kwargs.setdefault`). */
  partial_rotary_factor: number;
  /** Qwen3.5's text rotary embedding falls back to [11, 11, 10] (Qwen3_5TextRotaryEmbedding); Next has none. */
  mrope_section?: number[];
  moe?: {
    num_experts: number;
    num_experts_per_tok: number;
    moe_intermediate_size: number;
    shared_expert_intermediate_size: number;
    /** Whether decoder_sparse_step / mlp_only_layers / norm_topk_prob exist (Next) or are removed (Qwen3.5-MoE). */
    configurableLayout: boolean;
    /** Qwen3-Next's class default; Qwen3.5-MoE's router (Qwen3VLMoeTextTopKRouter) always renormalises. */
    norm_topk_prob: boolean;
  };
}

/** Keys of the text config the family reads (the linear-attention ones through readHybridLayout). */
const READ = [
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
  'head_dim', 'max_position_embeddings', 'rms_norm_eps', 'tie_word_embeddings', 'rope_theta', 'rope_scaling',
  'rope_parameters', 'partial_rotary_factor', 'hidden_act', 'attention_bias', 'layer_types', 'full_attention_interval',
  'linear_conv_kernel_dim', 'linear_key_head_dim', 'linear_value_head_dim', 'linear_num_key_heads',
  'linear_num_value_heads', 'attn_output_gate', 'use_sliding_window', 'quantization_config',
];
const MOE = ['num_experts', 'num_experts_per_tok', 'moe_intermediate_size', 'shared_expert_intermediate_size'];
const MOE_LAYOUT = ['decoder_sparse_step', 'mlp_only_layers', 'norm_topk_prob'];

/**
 * Keys that change nothing the text decoder computes: bookkeeping, generation and training settings, and what the
 * Qwen releases carry for other runtimes or heads: `mamba_ssm_dtype` (vLLM's state dtype; transformers keeps the
 * recurrent state in float32 regardless), `mtp_*` (the multi-token-prediction head, which transformers does not
 * load: `_keys_to_ignore_on_load_unexpected = [r"^mtp.*"]`), `output_gate_type` (transformers' attention always
 * gates with a sigmoid, modeling_qwen3_next.py Qwen3NextAttention), `sliding_window` / `max_window_layers`
 * (inert without use_sliding_window).
 */
const INERT = new Set([
  'architectures', 'model_type', 'transformers_version', '_name_or_path', 'torch_dtype', 'dtype', 'bos_token_id',
  'eos_token_id', 'pad_token_id', 'use_cache', 'initializer_range', 'attention_dropout', 'output_router_logits',
  'router_aux_loss_coef', 'router_jitter_noise', 'mamba_ssm_dtype', 'mtp_num_hidden_layers',
  'mtp_use_dedicated_embeddings', 'output_gate_type', 'sliding_window', 'max_window_layers', 'use_mrope',
  'return_dict', 'output_hidden_states', 'output_attentions', 'torchscript', 'use_bfloat16', 'tie_encoder_decoder',
  'is_encoder_decoder', 'is_decoder', 'add_cross_attention', 'pruned_heads', 'chunk_size_feed_forward',
  'id2label', 'label2id', 'problem_type', 'tokenizer_class', 'task_specific_params', 'keys_to_ignore_at_inference',
]);

/**
 * Keys of the Qwen3.5 wrappers (Qwen3_5Config / Qwen3_5MoeConfig, configuration_qwen3_5*.py): the sub-configs,
 * the vision special-token ids (image_token_id 248056, video 248057, vision_start 248053, vision_end 248054) and
 * `language_model_only`, none of which changes the text forward pass.
 */
const WRAPPER = new Set([
  'architectures', 'model_type', 'transformers_version', '_name_or_path', 'torch_dtype', 'dtype', 'text_config',
  'vision_config', 'image_token_id', 'video_token_id', 'vision_start_token_id', 'vision_end_token_id',
  'tie_word_embeddings', 'language_model_only', 'bos_token_id', 'eos_token_id', 'pad_token_id', 'use_cache',
  'initializer_range', 'quantization_config',
]);

const ROPE_KEYS = new Set(['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', 'mrope_section', 'mrope_interleaved']);

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A config key as it may appear in a message: keys come from the network, so odd ones are quoted and cut. */
function keyText(key: string): string {
  return /^[\w.-]{1,64}$/.test(key) ? key : `${JSON.stringify(key).slice(0, 64)}…`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses a text-config key outside what this family reads or knows to be inert. */
export function checkTextKeys(text: ModelConfig, arch: string, supported: string, d: HybridTextDefaults, where: string): void {
  for (const key of Object.keys(text)) {
    if (text[key] === undefined || text[key] === null) continue;
    if (INERT.has(key) || READ.includes(key)) continue;
    if (d.moe && MOE.includes(key)) continue;
    if (d.moe?.configurableLayout && MOE_LAYOUT.includes(key)) continue;
    if (!d.moe && (MOE.includes(key) || MOE_LAYOUT.includes(key))) {
      refuse(arch, `${where}${keyText(key)} is an MoE setting, but this is a dense model`, supported);
    }
    if (d.moe && !d.moe.configurableLayout && MOE_LAYOUT.includes(key)) continue; // removed from the class: inert
    refuse(arch, `${where}${keyText(key)} is not understood (it may change the computation)`, supported,
      'A key this importer does not know could change what the model computes; check the checkpoint, or update model-import.');
  }
}

/** Refuses a wrapper key outside Qwen3_5Config's. */
export function checkWrapperKeys(config: ModelConfig, arch: string, supported: string): void {
  for (const key of Object.keys(config)) {
    if (config[key] === undefined || config[key] === null || WRAPPER.has(key)) continue;
    refuse(arch, `${keyText(key)} is not understood (it may change the computation)`, supported,
      'A key this importer does not know could change what the model computes; check the checkpoint, or update model-import.');
  }
}

/**
 * rope_parameters (v5) or rope_theta / partial_rotary_factor / rope_scaling (v4). Accepted rope types: "default",
 * and "mrope" (the Qwen2-VL-era spelling transformers treats as default). The MRoPE sections, when given, must
 * cover the rotary frequencies (sum = rotary_dim / 2); for text tokens they do not change the result
 * (decoder-dims.ts, DecoderDims.rope).
 */
export function readHybridRope(text: ModelConfig, arch: string, supported: string, d: HybridTextDefaults, headDim: number, warnings: string[], where: string): RopeSpec {
  const v5 = text.rope_parameters;
  const v4 = text.rope_scaling;
  let params: Record<string, unknown> = {};
  let key = 'rope_parameters';
  if (v5 !== undefined && v5 !== null) {
    if (!isObject(v5)) refuse(arch, `${where}rope_parameters is ${describe(v5)}, expected an object`, supported);
    params = v5;
  } else if (v4 !== undefined && v4 !== null) {
    if (!isObject(v4)) refuse(arch, `${where}rope_scaling is ${describe(v4)}, expected an object or null`, supported);
    params = v4;
    key = 'rope_scaling';
  }
  const type = params.rope_type ?? params.type ?? 'default';
  if (type !== 'default' && type !== 'mrope') {
    refuse(arch, `${where}${key}.rope_type is ${describe(type)}`, `${supported} (rope_type "default")`,
      'Long-context RoPE scaling (YaRN, dynamic, linear) is not implemented for these models.');
  }
  for (const k of Object.keys(params)) {
    if (!ROPE_KEYS.has(k)) refuse(arch, `${where}${key}.${keyText(k)} is not understood`, `${supported} (rope_type "default" with partial rotary and MRoPE sections)`);
  }
  const positive = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) refuse(arch, `${where}${name} is ${describe(value)}, expected a positive number`, supported);
    return value;
  };
  const topTheta = positive('rope_theta', text.rope_theta, d.rope_theta);
  const theta = positive(`${key}.rope_theta`, params.rope_theta, topTheta);
  if (params.rope_theta !== undefined && text.rope_theta !== undefined && text.rope_theta !== params.rope_theta) {
    warnings.push(`rope_theta ${String(text.rope_theta)} and ${key}.rope_theta ${String(params.rope_theta)} disagree; using ${key}`);
  }
  const partial = positive(`${key}.partial_rotary_factor`, params.partial_rotary_factor,
    positive('partial_rotary_factor', text.partial_rotary_factor, d.partial_rotary_factor));
  if (partial > 1) refuse(arch, `${where}partial_rotary_factor is ${partial}, expected at most 1`, supported);
  const rotaryDim = Math.trunc(headDim * partial);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) refuse(arch, `${where}head_dim ${headDim} × partial_rotary_factor ${partial} gives ${rotaryDim} rotary dims (must be even and ≥ 2)`, supported);
  const spec: RopeSpec = { theta, partialRotaryFactor: partial };

  const given = params.mrope_section;
  const fallback = d.mrope_section;
  // transformers' default [11, 11, 10] only fits rotary_dim 64; for a resized config without its own section
  // transformers slices what fits, and for text tokens the sections do not change the result anyway.
  const fits = fallback !== undefined && fallback.reduce((a, b) => a + b, 0) === rotaryDim / 2;
  const sections = given ?? (fits ? fallback : undefined);
  if (sections !== undefined) {
    const ok = Array.isArray(sections) && sections.length >= 1 && sections.length <= 4 &&
      sections.every((s) => Number.isSafeInteger(s) && (s as number) >= 0);
    if (!ok) refuse(arch, `${where}${key}.mrope_section is ${describe(sections)}, expected up to 4 non-negative integers`, supported);
    const total = (sections as number[]).reduce((a, b) => a + b, 0);
    if (total !== rotaryDim / 2) {
      refuse(arch, `${where}${key}.mrope_section ${describe(sections)} covers ${total} rotary frequencies, but head_dim × partial_rotary_factor gives ${rotaryDim / 2}`, supported);
    }
    const interleaved = params.mrope_interleaved ?? true;
    if (typeof interleaved !== 'boolean') refuse(arch, `${where}${key}.mrope_interleaved is ${describe(interleaved)}`, supported);
    spec.mropeSection = { sections: sections as number[], interleaved };
  }
  return spec;
}
