// @ts-check
/**
 * Test helpers: a tiny Llama repository written to a temp folder (config.json, safetensors with Hugging Face
 * names, tokenizer, license), and a plugin driven through the hooks exactly as the kernel drives it. Only
 * model-import's public entry point and node: builtins are used, so the tests run wherever the package is
 * installed next to model-import.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  NonInteractivePrompter,
  Reporter,
  SAFETENSORS_INDEX_FILE,
  buildSafetensorsIndex,
  createHooks,
  encodeSafetensors,
  planSafetensors,
  serializeSafetensorsIndex,
} from 'model-import';
import { archLlama } from '../index.js';

/** @import { ArchitectureClaim, ComponentReport, ConvertResult, ImportOptions, ImportPlan, ModelConfig, StageContext } from 'model-import' */
/** @import { DecoderPluginOptions as ArchLlamaOptions } from 'model-import/decoder-kit' */

/** @typedef {{ name: string, dtype: string, shape: number[], data: Uint8Array }} Tensor */

/**
 * @typedef {object} TinySizes
 * @property {number} [hidden]
 * @property {number} [heads]
 * @property {number} [kvHeads]
 * @property {number} [headDim]  written to config.json only when given
 * @property {number} [layers]
 * @property {number} [intermediate]
 * @property {number} [vocab]
 * @property {boolean} [tied]
 */

/**
 * config.json as transformers' LlamaConfig.save_pretrained writes it (tiny sizes).
 * @param {TinySizes} [s]
 * @returns {ModelConfig}
 */
export function tinyLlamaConfig(s = {}) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: s.hidden ?? 64,
    initializer_range: 0.02,
    intermediate_size: s.intermediate ?? 128,
    max_position_embeddings: 128,
    mlp_bias: false,
    num_attention_heads: s.heads ?? 4,
    num_hidden_layers: s.layers ?? 2,
    num_key_value_heads: s.kvHeads ?? 2,
    ...(s.headDim === undefined ? {} : { head_dim: s.headDim }),
    pretraining_tp: 1,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: s.tied ?? true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.45.0',
    use_cache: true,
    vocab_size: s.vocab ?? 96,
  };
}

/**
 * The checkpoint's tensors for a config (BF16, zero-filled: only names, dtypes and shapes matter here).
 * @param {TinySizes} [s]
 * @returns {Tensor[]}
 */
export function tinyLlamaTensors(s = {}) {
  const hidden = s.hidden ?? 64;
  const heads = s.heads ?? 4;
  const kvHeads = s.kvHeads ?? 2;
  const headDim = s.headDim ?? hidden / heads;
  const intermediate = s.intermediate ?? 128;
  const vocab = s.vocab ?? 96;
  /** @type {Tensor[]} */
  const out = [];
  const add = (/** @type {string} */ name, /** @type {number[]} */ shape) =>
    out.push({ name, dtype: 'BF16', shape, data: new Uint8Array(2 * shape.reduce((a, b) => a * b, 1)) });
  add('model.embed_tokens.weight', [vocab, hidden]);
  for (let i = 0; i < (s.layers ?? 2); i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [hidden]);
    add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]);
    add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden]);
    add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden]);
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]);
    add(`${p}.post_attention_layernorm.weight`, [hidden]);
    add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden]);
    add(`${p}.mlp.up_proj.weight`, [intermediate, hidden]);
    add(`${p}.mlp.down_proj.weight`, [hidden, intermediate]);
  }
  add('model.norm.weight', [hidden]);
  if (!(s.tied ?? true)) add('lm_head.weight', [vocab, hidden]);
  return out;
}

/** @param {readonly { shape: readonly number[] }[]} tensors */
export function countElements(tensors) {
  return tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Writes a repository folder. `shards` > 1 splits the tensors into model-0000k-of-0000n.safetensors + index.
 * @param {string} dir
 * @param {{ config?: ModelConfig, tensors?: Tensor[], shards?: number, sideFiles?: boolean }} [o]
 */
export async function writeTinyRepo(dir, o = {}) {
  const tensors = o.tensors ?? tinyLlamaTensors();
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(o.config ?? tinyLlamaConfig(), null, 2));
  if (o.sideFiles !== false) {
    await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }));
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } }));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast' }));
    await writeFile(path.join(dir, 'LICENSE'), 'tiny test license\n');
  }
  const shards = o.shards ?? 1;
  if (shards === 1) {
    await writeFile(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
    return;
  }
  const per = Math.ceil(tensors.length / shards);
  const layout = [];
  for (let k = 0; k < shards; k++) {
    const group = tensors.slice(k * per, (k + 1) * per);
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    await writeFile(path.join(dir, file), encodeSafetensors(group, { format: 'pt' }, file));
    layout.push({ file, tensors: planSafetensors(group, undefined, file).tensors });
  }
  await writeFile(path.join(dir, SAFETENSORS_INDEX_FILE), serializeSafetensorsIndex(buildSafetensorsIndex(layout)));
}

/**
 * A fresh temp folder for one test; `t.after` removes it.
 * @param {{ after(fn: () => Promise<void>): void }} t
 */
export async function tempFolder(t) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'arch-llama-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * @param {Partial<ImportOptions>} [options]
 * @returns {StageContext & { components: ComponentReport[] }}
 */
export function stageContext(options = {}) {
  const reporter = new Reporter();
  /** @type {ComponentReport[]} */
  const components = [];
  reporter.subscribe((event) => {
    if (event.type === 'component') components.push(event.report);
  });
  return {
    reporter,
    prompter: new NonInteractivePrompter(),
    signal: new AbortController().signal,
    options: { modelsDir: os.tmpdir(), yes: true, acceptLicense: true, skipValidation: false, ...options },
    env: {},
    settings: {},
    components,
  };
}

/**
 * The plugin applied to a fresh set of hooks: what the kernel does with it, minus the kernel.
 * @param {ArchLlamaOptions} [options]
 */
export function appliedHooks(options) {
  const hooks = createHooks();
  archLlama(options).apply({ hooks });
  return {
    hooks,
    /**
     * @param {ModelConfig} config
     * @param {StageContext} [context]
     * @returns {ArchitectureClaim | undefined}
     */
    recognize(config, context) {
      const key = Array.isArray(config.architectures) ? config.architectures[0] : config.model_type;
      return hooks.recognize.get(String(key))?.call(config, context);
    },
    /**
     * @param {ArchitectureClaim} claim
     * @param {ModelConfig} config
     * @param {string} rawDir
     * @param {string} outDir
     * @param {StageContext} context
     * @returns {Promise<ConvertResult | undefined>}
     */
    convert(claim, config, rawDir, outDir, context) {
      const plan = /** @type {ImportPlan} */ ({
        source: 'test', resolvedBy: 'test', modelId: 'tiny/llama', config, files: [], data: {}, claim, modelName: 'tiny-llama',
      });
      return /** @type {NonNullable<ReturnType<typeof hooks.convert.get>>} */ (hooks.convert.get(claim.architecture)).promise({ plan, rawDir, outDir }, context);
    },
  };
}
