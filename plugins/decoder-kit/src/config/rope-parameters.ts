/**
 * Rotary embedding parameters read the way transformers' modeling_rope_utils.py reads them, for the rope types
 * this project computes: "default", "linear", "dynamic", "yarn" and "llama3".
 *
 * Both serialisations: transformers 4 puts `rope_theta` at the top and the scaling in `rope_scaling` (the type
 * under `rope_type`, or the legacy `type` key; `{type: "default"}` or null means none); transformers 5 puts
 * everything in `rope_parameters` (theta included), possibly one entry per layer type.
 */
import { rotaryParameters } from '../blocks/rotary.js';
import { refuseConfig } from './refuse-config.js';
import { ropeSpecOf } from './rope-spec-of.js';

export type RopeType = 'default' | 'linear' | 'dynamic' | 'yarn' | 'llama3';

export interface RopeReading {
  type: RopeType;
  theta: number;
  /** Dimensions rotated per head: int(head_dim * partial_rotary_factor) as transformers computes `dim`. */
  rotaryDim: number;
  /** The scaling factor (1 for default). */
  factor: number;
  /** Context the scaling was computed for: yarn's correction range, dynamic's threshold. */
  originalMaxPositionEmbeddings: number;
  /** Multiplies cos and sin (yarn's mscale; 1 otherwise). */
  attentionScaling: number;
  /** yarn only. */
  betaFast: number;
  betaSlow: number;
  truncate: boolean;
  /** llama3 only (`_compute_llama3_parameters`: low_freq_factor, high_freq_factor, both required). */
  lowFreqFactor?: number;
  highFreqFactor?: number;
}

const KNOWN_KEYS: Record<RopeType, readonly string[]> = {
  default: ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor'],
  linear: ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', 'factor'],
  dynamic: ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', 'factor', 'original_max_position_embeddings'],
  yarn: ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', 'factor', 'original_max_position_embeddings',
    'attention_factor', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim', 'truncate'],
  llama3: ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', 'factor', 'low_freq_factor', 'high_freq_factor',
    'original_max_position_embeddings'],
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positive(architecture: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    refuseConfig(architecture, key, `is ${JSON.stringify(value)}, expected a positive number`);
  }
  return value;
}

/** The one parameter dict that applies, from either serialisation (null when the config has no scaling). */
function scalingDict(architecture: string, config: Json): Json | undefined {
  const v5 = config.rope_parameters;
  if (v5 !== undefined && v5 !== null) {
    if (!isObject(v5)) refuseConfig(architecture, 'rope_parameters', 'is not an object');
    // transformers 5 may key the parameters by layer type; every type this reader admits must agree.
    const perType = Object.values(v5).every(isObject) && Object.keys(v5).length > 0;
    if (!perType) return v5;
    const entries = Object.entries(v5) as [string, Json][];
    const first = JSON.stringify(entries[0]![1]);
    for (const [type, value] of entries) {
      if (JSON.stringify(value) !== first) refuseConfig(architecture, `rope_parameters.${type}`, 'differs between layer types');
    }
    return entries[0]![1];
  }
  const v4 = config.rope_scaling;
  if (v4 === undefined || v4 === null) return undefined;
  if (!isObject(v4)) refuseConfig(architecture, 'rope_scaling', 'is not an object');
  return v4;
}

/**
 * `headDim` is the per-head size; `maxPositionEmbeddings` the config's max_position_embeddings (transformers'
 * fallback for original_max_position_embeddings); `partialRotary` whether the family's modeling applies rotary to
 * part of the head (when false, a factor other than 1 is refused: the Qwen2/Qwen3/Llama modeling code rotates the
 * whole head and would fail on a shorter cos/sin).
 */
export function readRopeParameters(
  architecture: string,
  config: Json,
  headDim: number,
  maxPositionEmbeddings: number,
  partialRotary: boolean,
  /** The family config class's rope_theta default (10000 in every class here). */
  defaultTheta = 10000,
): RopeReading {
  const dict = scalingDict(architecture, config) ?? {};
  const where = config.rope_parameters !== undefined && config.rope_parameters !== null ? 'rope_parameters' : 'rope_scaling';
  // `rope_type` wins over the legacy `type` (transformers' rope_config_validation does the same).
  const rawType = dict.rope_type ?? dict.type ?? 'default';
  if (typeof rawType !== 'string' || !(rawType in KNOWN_KEYS)) {
    refuseConfig(architecture, `${where}.rope_type`, `is ${JSON.stringify(rawType)}; supported: default, linear, dynamic, yarn, llama3`);
  }
  const type = rawType as RopeType;
  for (const key of Object.keys(dict)) {
    if (!KNOWN_KEYS[type].includes(key)) refuseConfig(architecture, `${where}.${key}`, `is not understood for rope_type "${type}"`);
  }

  const theta = positive(architecture, 'rope_theta', dict.rope_theta ?? config.rope_theta ?? defaultTheta);
  const prf = positive(architecture, 'partial_rotary_factor', dict.partial_rotary_factor ?? config.partial_rotary_factor ?? 1);
  if (prf > 1) refuseConfig(architecture, 'partial_rotary_factor', `is ${prf}, expected at most 1`);
  if (prf !== 1 && !partialRotary) refuseConfig(architecture, 'partial_rotary_factor', `is ${prf}; this family rotates whole heads`);
  const rotaryDim = Math.trunc(headDim * prf);
  if (prf === 1 && headDim % 2 !== 0) refuseConfig(architecture, 'head_dim', `is ${headDim}, odd (RoPE rotates pairs)`);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) refuseConfig(architecture, 'partial_rotary_factor', `gives ${rotaryDim} rotary dimensions, expected an even number`);

  const original = dict.original_max_position_embeddings === undefined || dict.original_max_position_embeddings === null
    ? maxPositionEmbeddings
    : positive(architecture, `${where}.original_max_position_embeddings`, dict.original_max_position_embeddings);
  const reading: RopeReading = {
    type, theta, rotaryDim, factor: 1, originalMaxPositionEmbeddings: original,
    attentionScaling: 1, betaFast: 32, betaSlow: 1, truncate: true,
  };
  if (type === 'default') return reading;

  if (type === 'yarn' && (dict.factor === undefined || dict.factor === null) && dict.original_max_position_embeddings !== undefined) {
    // transformers 5 _compute_yarn_parameters: without an explicit factor, the ratio of the two context lengths.
    reading.factor = maxPositionEmbeddings / original;
  } else {
    reading.factor = positive(architecture, `${where}.factor`, dict.factor);
  }
  if (type === 'llama3') {
    // _compute_llama3_parameters reads all three from the dict, without defaults.
    if (dict.original_max_position_embeddings === undefined || dict.original_max_position_embeddings === null) {
      refuseConfig(architecture, `${where}.original_max_position_embeddings`, 'is missing (rope_type "llama3" needs it)');
    }
    reading.lowFreqFactor = positive(architecture, `${where}.low_freq_factor`, dict.low_freq_factor);
    reading.highFreqFactor = positive(architecture, `${where}.high_freq_factor`, dict.high_freq_factor);
    if (reading.highFreqFactor <= reading.lowFreqFactor) {
      refuseConfig(architecture, `${where}.high_freq_factor`, `is ${reading.highFreqFactor}, expected more than low_freq_factor ${reading.lowFreqFactor}`);
    }
    return reading;
  }
  if (type === 'linear' || type === 'dynamic') {
    if (reading.factor < 1 && type === 'dynamic') refuseConfig(architecture, `${where}.factor`, `is ${reading.factor}, expected at least 1`);
    return reading;
  }
  // yarn: get_mscale(s, m) = 0.1 * m * ln(s) + 1 for s > 1, else 1.
  const mscale = (scale: number, m = 1): number => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  if (dict.attention_factor !== undefined && dict.attention_factor !== null) {
    reading.attentionScaling = positive(architecture, `${where}.attention_factor`, dict.attention_factor);
  } else if (dict.mscale && dict.mscale_all_dim) {
    const m = positive(architecture, `${where}.mscale`, dict.mscale);
    const all = positive(architecture, `${where}.mscale_all_dim`, dict.mscale_all_dim);
    reading.attentionScaling = mscale(reading.factor, m) / mscale(reading.factor, all);
  } else {
    reading.attentionScaling = mscale(reading.factor);
  }
  // `or 32` / `or 1` in transformers: a 0 or null falls back too.
  if (dict.beta_fast) reading.betaFast = positive(architecture, `${where}.beta_fast`, dict.beta_fast);
  if (dict.beta_slow) reading.betaSlow = positive(architecture, `${where}.beta_slow`, dict.beta_slow);
  if (dict.truncate !== undefined) {
    if (typeof dict.truncate !== 'boolean') refuseConfig(architecture, `${where}.truncate`, 'is not true or false');
    reading.truncate = dict.truncate;
  }
  return reading;
}

/**
 * inv_freq as transformers computes it for `seqLen` positions (float32 like the torch buffers): the kit's rotary
 * block (blocks/rotary.ts) on this reading, so the reader states exactly what the graph computes. Dynamic above
 * original_max_position_embeddings, which the graph does not do: theta grows to
 * theta * (factor*seq/orig - (factor-1))^(dim/(dim-2)).
 */
export function ropeInverseFrequencies(rope: RopeReading, seqLen = 0): Float32Array {
  const dim = rope.rotaryDim;
  if (rope.type === 'dynamic' && seqLen > rope.originalMaxPositionEmbeddings) {
    const theta = rope.theta * Math.pow(rope.factor * seqLen / rope.originalMaxPositionEmbeddings - (rope.factor - 1), dim / (dim - 2));
    return rotaryParameters({ theta, partialRotaryFactor: 1 }, dim).invFreq;
  }
  return rotaryParameters(ropeSpecOf(rope, dim, rope.originalMaxPositionEmbeddings), dim).invFreq;
}
