// @ts-check
/**
 * What a Llama checkpoint must hold for a given config: Hugging Face tensor names and [out, in] shapes, as
 * transformers' LlamaForCausalLM state dict has them. No biases (attention_bias and mlp_bias are refused at
 * recognition); lm_head.weight only when the embeddings are not tied.
 */

/** @import { LlamaDims } from './read-llama-config.js' */

/** @typedef {{ name: string, shape: readonly number[] }} TensorSpec */

export const EMBEDDINGS = 'model.embed_tokens.weight';
export const LM_HEAD = 'lm_head.weight';

/**
 * Every tensor of the model except lm_head, in state-dict order.
 * @param {LlamaDims} d
 * @returns {TensorSpec[]}
 */
export function bodyTensors(d) {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  /** @type {TensorSpec[]} */
  const out = [{ name: EMBEDDINGS, shape: [d.vocab, d.hidden] }];
  for (let i = 0; i < d.layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [d.hidden] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, d.hidden] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, d.hidden] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, d.hidden] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [d.hidden, q] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d.hidden] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [d.intermediate, d.hidden] },
      { name: `${p}.mlp.up_proj.weight`, shape: [d.intermediate, d.hidden] },
      { name: `${p}.mlp.down_proj.weight`, shape: [d.hidden, d.intermediate] },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [d.hidden] });
  return out;
}

/**
 * @param {LlamaDims} d
 * @returns {TensorSpec}
 */
export function lmHead(d) {
  return { name: LM_HEAD, shape: [d.vocab, d.hidden] };
}

/**
 * Buffers some older writers saved beside the weights; they carry no parameters and transformers ignores them.
 * @param {string} name
 */
export function isHarmlessBuffer(name) {
  return /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name);
}

/**
 * Parameters the config implies, tied embeddings counted once (for the plan display, before any download).
 * @param {LlamaDims} d
 */
export function parametersFromConfig(d) {
  let total = 0;
  for (const spec of bodyTensors(d)) total += elementCount(spec.shape);
  return d.tied ? total : total + elementCount(lmHead(d).shape);
}

/** @param {readonly number[]} shape */
export function elementCount(shape) {
  let n = 1;
  for (const size of shape) n *= size;
  return n;
}
