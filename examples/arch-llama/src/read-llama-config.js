// @ts-check
/**
 * config.json -> the shape facts of a Llama model, or a refusal naming what was found and what is supported.
 *
 * Recognition sees nothing but config.json (it runs before any weight byte is downloaded), so every look-alike
 * has to be told apart here: a pre-quantized checkpoint, a RoPE variant this adapter was not written for, a
 * different model_type under the LlamaForCausalLM name. A config comes from the network: every size is checked
 * to be a positive integer within a sane bound before any arithmetic uses it.
 */
import { ModelImportError } from 'model-import';
import { ARCHITECTURE, MODEL_TYPE } from './names.js';

/** @import { ModelConfig, TargetDtype } from 'model-import' */

/**
 * @typedef {object} LlamaDims
 * @property {number} hidden        H, hidden_size
 * @property {number} intermediate  I, intermediate_size (width of the SwiGLU MLP)
 * @property {number} layers        L, num_hidden_layers
 * @property {number} heads         nH, num_attention_heads
 * @property {number} kvHeads       nKV, num_key_value_heads (GQA: nH is a multiple of it)
 * @property {number} headDim       D, head_dim (H / nH when absent)
 * @property {number} vocab         V, vocab_size
 * @property {boolean} tied         tie_word_embeddings (LlamaConfig's default is false)
 * @property {TargetDtype | undefined} configDtype  what torch_dtype / dtype says, when it says something known
 */

/** Bounds far above any released model: beyond them the config is broken or hostile, not big. */
const LIMITS = Object.freeze({
  hidden: 65_536,
  intermediate: 1_048_576,
  layers: 1_000,
  heads: 8_192,
  headDim: 8_192,
  vocab: 10_000_000,
  parameters: 1e13,
});

const CONFIG_DTYPES = /** @type {Record<string, TargetDtype>} */ ({ bfloat16: 'bf16', float16: 'f16', float32: 'f32' });

/** RoPE variants whose checkpoints have exactly the tensors below: plain RoPE and Llama 3.1's "llama3" scaling. */
export const DEFAULT_ROPE_TYPES = Object.freeze(['default', 'llama3']);

const SUPPORTED = `${ARCHITECTURE} (model_type "${MODEL_TYPE}") with silu, no attention or MLP bias and unquantized weights`;

/**
 * @param {string} found what is wrong, e.g. `config.json has quantization_config`
 * @param {string} [hint]
 * @returns {never}
 */
export function refuse(found, hint) {
  throw new ModelImportError('UNSUPPORTED_VARIANT', `${ARCHITECTURE}: ${found}; supported: ${SUPPORTED}.`, {
    hint: hint ?? 'Import an unmodified Hugging Face release of the model, or use an adapter written for this variant.',
    details: { architecture: ARCHITECTURE },
  });
}

/**
 * @param {ModelConfig} config
 * @param {{ ropeTypes?: readonly string[] }} [options]
 * @returns {{ dims: LlamaDims, warnings: string[] }}
 */
export function readLlamaConfig(config, options = {}) {
  /** @type {string[]} */
  const warnings = [];
  refuseLookAlikes(config, options.ropeTypes ?? DEFAULT_ROPE_TYPES);

  const hidden = requiredInt(config, 'hidden_size', LIMITS.hidden);
  const layers = requiredInt(config, 'num_hidden_layers', LIMITS.layers);
  const heads = requiredInt(config, 'num_attention_heads', LIMITS.heads);
  const vocab = requiredInt(config, 'vocab_size', LIMITS.vocab);
  const intermediate = requiredInt(config, 'intermediate_size', LIMITS.intermediate);
  const kvHeads = optionalInt(config, 'num_key_value_heads', LIMITS.heads) ?? heads;
  if (heads % kvHeads !== 0) refuse(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  let headDim = optionalInt(config, 'head_dim', LIMITS.headDim);
  if (headDim === undefined) {
    if (hidden % heads !== 0) refuse(`hidden_size ${hidden} is not a multiple of num_attention_heads ${heads} and head_dim is absent`);
    headDim = hidden / heads;
  }
  const tied = optionalBool(config, 'tie_word_embeddings') ?? false;

  /** @type {LlamaDims} */
  const dims = { hidden, intermediate, layers, heads, kvHeads, headDim, vocab, tied, configDtype: readConfigDtype(config, warnings) };
  return { dims, warnings };
}

/**
 * @param {ModelConfig} config
 * @param {readonly string[]} ropeTypes
 */
function refuseLookAlikes(config, ropeTypes) {
  if (config.model_type !== MODEL_TYPE) {
    refuse(`config model_type is ${JSON.stringify(config.model_type ?? null)}`, 'A model with another model_type needs the adapter written for it.');
  }
  const quant = config.quantization_config;
  if (quant !== undefined && quant !== null) {
    const method = isRecord(quant) && typeof quant.quant_method === 'string' ? quant.quant_method : 'unknown';
    refuse(`config.json has quantization_config (quant_method ${JSON.stringify(method)}): a pre-quantized checkpoint`,
      'Import the unquantized release of the model instead of a GPTQ / AWQ / bitsandbytes / FP8 one.');
  }
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    const type = isRecord(value) ? value.rope_type ?? value.type ?? 'default' : value;
    if (typeof type !== 'string' || !ropeTypes.includes(type)) {
      refuse(`${key} has rope type ${JSON.stringify(type)}; this adapter handles ${ropeTypes.map((t) => JSON.stringify(t)).join(', ')}`,
        `List the type in the adapter's ropeTypes option only if the checkpoint's tensors are the plain Llama ones.`);
    }
  }
  if (config.vision_config !== undefined && config.vision_config !== null) refuse('config.json has a vision_config (a vision-language model)');
  for (const key of ['attention_bias', 'mlp_bias']) {
    const value = optionalBool(config, key);
    if (value === true) refuse(`${key} is true (a biased variant this adapter does not handle)`);
  }
  const act = config.hidden_act;
  if (act !== undefined && act !== null && act !== 'silu') refuse(`hidden_act is ${JSON.stringify(act)}`);
}

/**
 * @param {ModelConfig} config
 * @param {string} key
 * @param {number} max
 */
function requiredInt(config, key, max) {
  const value = optionalInt(config, key, max);
  if (value === undefined) refuse(`config.json has no ${key}`, 'The config is incomplete; download it again or fix it.');
  return value;
}

/**
 * A positive integer at most `max`, or undefined when absent or null.
 * @param {ModelConfig} config
 * @param {string} key
 * @param {number} max
 * @returns {number | undefined}
 */
function optionalInt(config, key, max) {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    refuse(`config field ${key} is ${describe(value)}, expected an integer in 1..${max}`);
  }
  return value;
}

/**
 * @param {ModelConfig} config
 * @param {string} key
 * @returns {boolean | undefined}
 */
function optionalBool(config, key) {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') refuse(`config field ${key} is ${describe(value)}, expected true or false`);
  return value;
}

/**
 * torch_dtype (transformers 4.x) or dtype (later): informational, the weights' own dtypes decide.
 * @param {ModelConfig} config
 * @param {string[]} warnings
 * @returns {TargetDtype | undefined}
 */
function readConfigDtype(config, warnings) {
  const value = typeof config.dtype === 'string' ? config.dtype : typeof config.torch_dtype === 'string' ? config.torch_dtype : undefined;
  if (value === undefined || value === 'auto') return undefined;
  const dtype = CONFIG_DTYPES[value];
  if (!dtype) warnings.push(`config.json dtype ${JSON.stringify(value)} is not bfloat16, float16 or float32; the weights decide`);
  return dtype;
}

/** @param {unknown} value */
function describe(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export { LIMITS };
