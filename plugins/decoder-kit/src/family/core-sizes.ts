/**
 * The sizes a config.json must state itself. transformers' config classes give every key a default, but for these
 * the default is one particular model's size (LlamaConfig's vocab 32000, hidden 4096, 32 layers and 32 heads are Llama-7B's): a config that leaves
 * one out does not describe its checkpoint, transformers' from_pretrained then fails on the first tensor shape,
 * and so would our conversion — after the whole download. So recognition refuses it, naming the key, before any
 * weight byte is fetched. Every config transformers writes states them, so no release is refused: save_pretrained
 * writes PretrainedConfig.to_diff_dict() (transformers/configuration_utils.py), which drops only keys whose value
 * equals the base PretrainedConfig's and keeps every key the model's config class adds (hidden_size and the rest).
 *
 * Sizes with a convention behind their default stay optional: num_key_value_heads (= num_attention_heads, plain
 * multi-head attention), head_dim (hidden_size / num_attention_heads, or the family's fixed 128 / 256), and the
 * small settings (rms_norm_eps, rope_theta, ...). A wrong type, a negative or a non-integer size is refused by the
 * typed readers themselves (config/read-decoder-config.ts, family/config-fields.ts).
 */
import type { ModelConfig } from '../../../../src/index.js';
import { refuseConfig } from '../config/refuse-config.js';
import { isSparseLayer, type DecoderDims } from './decoder-dims.js';

/** Always required: the embedding, the depth and the attention heads. */
export const CORE_SIZES: readonly string[] = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads'];

/** Required when the family has routed experts (either spelling of the expert count, transformers 4 or 5). */
export const MOE_SIZES: readonly (readonly string[])[] = [['num_experts', 'num_local_experts'], ['moe_intermediate_size']];

export interface CoreSizeOptions {
  /** The family has routed experts (its defaults table has an MoE part). */
  moe: boolean;
  /** The family has a shared expert (shared_expert_intermediate_size is then a core size too). */
  sharedExpert: boolean;
  /** Where the text config sits, for the message ("text_config." in the Qwen3.5 wrappers). */
  where?: string;
  /** transformers' default for a key, to say what it would have assumed. */
  defaultOf: (key: string) => number | undefined;
}

/** The core-size options of a family whose defaults table is `defaults` (MoE sizes under `moe`; `where`: see CoreSizeOptions). */
export function coreSizeOptions(defaults: { moe?: { shared_expert_intermediate_size?: number } }, where?: string): CoreSizeOptions {
  return {
    moe: defaults.moe !== undefined,
    sharedExpert: (defaults.moe?.shared_expert_intermediate_size ?? 0) > 0,
    where,
    defaultOf: (key) => coreDefault(defaults, key),
  };
}

/** transformers' default for a core size, from a family's defaults table (MoE sizes under `moe`). */
export function coreDefault(defaults: { moe?: object } & object, key: string): number | undefined {
  const table = defaults as unknown as Record<string, unknown>;
  const moe = (defaults.moe ?? {}) as Record<string, unknown>;
  const value = table[key] ?? moe[key === 'num_local_experts' ? 'num_experts' : key];
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/** Refuses a config that leaves out a size every layer depends on (before anything is read with defaults). */
export function requireCoreSizes(config: ModelConfig, architecture: string, options: CoreSizeOptions): void {
  const groups: (readonly string[])[] = CORE_SIZES.map((key) => [key]);
  if (options.moe) {
    groups.push(...MOE_SIZES);
    if (options.sharedExpert) groups.push(['shared_expert_intermediate_size']);
  }
  for (const group of groups) {
    if (group.some((key) => present(config, key))) continue;
    missing(architecture, group[0], options);
  }
}

/**
 * intermediate_size is the width of the dense MLPs: required when at least one layer has one (every layer of a
 * dense model; an MoE model's mlp_only_layers, or layers off its decoder_sparse_step). An all-sparse model
 * (Qwen3.5-MoE) computes without it, as transformers does.
 */
export function requireDenseWidth(config: ModelConfig, architecture: string, dims: DecoderDims, options: CoreSizeOptions): void {
  if (present(config, 'intermediate_size')) return;
  const dense = Array.from({ length: dims.layers }, (_, i) => i).some((i) => !isSparseLayer(dims, i));
  if (dense) missing(architecture, 'intermediate_size', options);
}

function present(config: ModelConfig, key: string): boolean {
  return config[key] !== undefined && config[key] !== null;
}

function missing(architecture: string, key: string, options: CoreSizeOptions): never {
  const fallback = options.defaultOf(key);
  const assumed = fallback === undefined ? '' : ` (transformers would assume ${fallback}, its config class's default, whatever size the weights have)`;
  refuseConfig(architecture, `${options.where ?? ''}${key}`, `is missing${assumed}`,
    `Add ${key} to config.json with the checkpoint's value (the model's original config.json states it), or import an unmodified release.`);
}
