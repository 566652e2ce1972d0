/**
 * Reads the Gated DeltaNet fields and the layer schedule of a Qwen3-Next / Qwen3.5 text config (for the wrappers,
 * pass `text_config`) with transformers' own defaults, from
 * transformers qwen3_next/configuration_qwen3_next.py and qwen3_5/configuration_qwen3_5.py (same values in both):
 * linear_conv_kernel_dim 4, linear_key_head_dim 128, linear_value_head_dim 128, linear_num_key_heads 16,
 * linear_num_value_heads 32, rms_norm_eps 1e-6, hidden_act silu, and layer_types derived from
 * full_attention_interval (default 4) when absent: layer i is full_attention when (i + 1) % interval == 0.
 * Sizes the family already knows (hidden_size, num_hidden_layers, whose defaults differ by model type) come in.
 */
import type { ModelConfig } from '../../../../src/index.js';
import { fieldReader, refuse } from '../family/config-fields.js';
import type { LinearAttentionDims } from './gated-delta-net.js';

export type HybridLayerType = 'linear_attention' | 'full_attention';

export interface HybridLayout {
  layerTypes: HybridLayerType[];
  /** True when layer_types was derived (the published config must then gain it: transformers.js reads it). */
  derivedLayerTypes: boolean;
  linear: LinearAttentionDims;
}

const SUPPORTED = 'Qwen3-Next / Qwen3.5 hybrid layouts (silu, linear_attention and full_attention layers, value heads a multiple of key heads)';
const MAX_HEADS = 1024;
const MAX_HEAD_DIM = 4096;

export function readHybridLayout(config: ModelConfig, architecture: string, sizes: { hidden: number; layers: number }): HybridLayout {
  const f = fieldReader(config, architecture, SUPPORTED);
  const act = config.hidden_act ?? 'silu';
  // The conv activation and the norm gate are both hidden_act in transformers; every Qwen release uses silu.
  if (act !== 'silu' && act !== 'swish') refuse(architecture, `hidden_act is ${JSON.stringify(act).slice(0, 40)}`, SUPPORTED);
  const linear: LinearAttentionDims = {
    hidden: sizes.hidden,
    kernel: f.optionalInt('linear_conv_kernel_dim', 64, 4),
    keyDim: f.optionalInt('linear_key_head_dim', MAX_HEAD_DIM, 128),
    valueDim: f.optionalInt('linear_value_head_dim', MAX_HEAD_DIM, 128),
    keyHeads: f.optionalInt('linear_num_key_heads', MAX_HEADS, 16),
    valueHeads: f.optionalInt('linear_num_value_heads', MAX_HEADS, 32),
    eps: f.optionalNumber('rms_norm_eps', 1e-6),
  };
  if (linear.valueHeads % linear.keyHeads !== 0) {
    refuse(architecture, `linear_num_value_heads ${linear.valueHeads} is not a multiple of linear_num_key_heads ${linear.keyHeads}`, SUPPORTED);
  }

  const given = config.layer_types;
  if (given === undefined || given === null) {
    const interval = f.optionalInt('full_attention_interval', sizes.layers, 4);
    const layerTypes = Array.from({ length: sizes.layers }, (_, i): HybridLayerType => ((i + 1) % interval === 0 ? 'full_attention' : 'linear_attention'));
    return { layerTypes, derivedLayerTypes: true, linear };
  }
  const ok = Array.isArray(given) && given.length === sizes.layers && given.every((t) => t === 'linear_attention' || t === 'full_attention');
  if (!ok) {
    refuse(architecture, `layer_types is not ${sizes.layers} entries of "linear_attention" / "full_attention"`, SUPPORTED);
  }
  const layerTypes = given as HybridLayerType[];
  if (!layerTypes.includes('full_attention')) {
    // transformers.js measures the cached length on an attention layer's past_key_values; without one it cannot
    // generate, and no Qwen release has such a schedule.
    refuse(architecture, 'layer_types has no full_attention layer', SUPPORTED);
  }
  return { layerTypes, derivedLayerTypes: false, linear };
}
