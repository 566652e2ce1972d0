// @ts-check
/** Recognition from config.json alone: the claim, the model_type fallback key, and every look-alike refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isModelImportError } from 'model-import';
import { archLlama } from '../index.js';
import { appliedHooks, countElements, stageContext, tinyLlamaConfig, tinyLlamaTensors } from './tiny-llama.js';

/** @import { ModelConfig } from 'model-import' */

/**
 * @param {() => unknown} fn
 * @param {string} code
 * @param {RegExp} message
 */
function assertRefused(fn, code, message) {
  assert.throws(fn, (error) => {
    assert.ok(isModelImportError(error), `not a ModelImportError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

const { recognize } = appliedHooks();
/** @param {Record<string, unknown>} changes */
const config = (changes) => /** @type {ModelConfig} */ ({ ...tinyLlamaConfig(), ...changes });

test('claims a tiny Llama: type, family, parameters from the config, the forward check offered, no scratch space', () => {
  const claim = recognize(tinyLlamaConfig(), stageContext());
  assert.ok(claim);
  assert.equal(claim.adapter, 'model-import-arch-llama');
  assert.equal(claim.architecture, 'LlamaForCausalLM');
  assert.equal(claim.architectureType, 'llama');
  assert.equal(claim.family, 'llama');
  assert.deepEqual(claim.warnings, []);
  assert.equal(claim.estimatedParameters, countElements(tinyLlamaTensors()));
  // The kit's ONNX graph and reference forward: validators run the forward check.
  assert.equal(claim.validation?.onnxGraph, 'onnx/model.onnx');
  assert.equal(typeof claim.validation?.referenceForward, 'function');
  assert.equal(claim.conversionScratchBytes([{ path: 'model.safetensors', size: 1e9, role: 'weights' }], stageContext().options), 0);
  // A dtype change rewrites the weights: the scratch space is the converted size.
  assert.equal(claim.conversionScratchBytes([{ path: 'model.safetensors', size: 1e9, role: 'weights' }], stageContext({ dtype: 'f32' }).options), 2e9);
  // Without the graph, no validation support.
  assert.equal('validation' in (appliedHooks({ onnx: false }).recognize(tinyLlamaConfig()) ?? {}), false);
});

test('GQA, an explicit head_dim (nH·D ≠ H) and untied embeddings change the parameter count as the tensors do', () => {
  const sizes = { hidden: 64, heads: 8, kvHeads: 2, headDim: 32, tied: false };
  const claim = recognize(tinyLlamaConfig(sizes));
  assert.equal(claim?.estimatedParameters, countElements(tinyLlamaTensors(sizes)));
});

test('a config without architectures is recognised by model_type "llama"', () => {
  const { architectures: _, ...rest } = tinyLlamaConfig();
  const claim = recognize(rest);
  assert.equal(claim?.architecture, 'llama');
  assert.equal(claim?.architectureType, 'llama');
});

test('rope_scaling null, "default" and Llama 3.1\'s "llama3" are accepted; other scaled RoPE is refused', () => {
  assert.ok(recognize(config({ rope_scaling: null })));
  assert.ok(recognize(config({ rope_scaling: { type: 'default' } })));
  assert.ok(recognize(config({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } })));
  const llama3 = { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };
  assert.ok(recognize(config({ rope_scaling: llama3 }))?.validation, 'llama3 keeps the forward check');
  assert.ok(recognize(config({ rope_parameters: { ...llama3, rope_theta: 500000 } })));
  for (const rope of [{ type: 'linear', factor: 2 }, { rope_type: 'dynamic', factor: 2 }, { rope_type: 'yarn', factor: 4 }]) {
    assertRefused(() => recognize(config({ rope_scaling: rope })), 'UNSUPPORTED_VARIANT', /rope_scaling is .*"(linear|dynamic|yarn)".*rope_scaling null or rope_type "llama3"/);
  }
  assertRefused(() => recognize(config({ rope_parameters: { rope_type: 'longrope' } })), 'UNSUPPORTED_VARIANT', /rope_parameters.rope_type is "longrope"/);
});

test('look-alikes are refused with what was found and what is supported', () => {
  assertRefused(() => recognize(config({ quantization_config: { quant_method: 'gptq', bits: 4 } })), 'UNSUPPORTED_VARIANT',
    /quantization_config \(quant_method "gptq"\): a pre-quantized checkpoint; supported: LlamaForCausalLM/);
  assertRefused(() => recognize(config({ quantization_config: { load_in_4bit: true } })), 'UNSUPPORTED_VARIANT', /quant_method "unknown"/);
  assertRefused(() => recognize(config({ model_type: 'mistral' })), 'UNSUPPORTED_VARIANT', /model_type is "mistral"/);
  assertRefused(() => recognize(config({ mlp_bias: true })), 'UNSUPPORTED_VARIANT', /mlp_bias is true/);
  assertRefused(() => recognize(config({ hidden_act: 'gelu' })), 'UNSUPPORTED_VARIANT', /hidden_act is "gelu"/);
  assertRefused(() => recognize(config({ vision_config: {} })), 'UNSUPPORTED_VARIANT', /vision_config/);
  // attention_bias puts a bias on q, k, v and o (LlamaAttention): accepted, and the tensors say so.
  const biased = recognize(config({ attention_bias: true }));
  assert.equal(biased?.estimatedParameters, countElements(tinyLlamaTensors()) + 2 * (64 + 32 + 32 + 64));
});

test('what config.json leaves out is LlamaConfig\'s default (configuration_llama.py), as transformers reads it, but for the core sizes', () => {
  // num_key_value_heads None -> num_attention_heads (plain multi-head attention: more K/V parameters than GQA).
  const mha = recognize(config({ num_key_value_heads: undefined }));
  const gqa = recognize(config({}));
  assert.ok((mha?.estimatedParameters ?? 0) > (gqa?.estimatedParameters ?? Infinity));
  // head_dim = hidden_size // num_attention_heads even when it does not divide.
  assert.ok(recognize(config({ hidden_size: 66 })));
  // A core size left out would be LlamaConfig's 32 layers, Llama-7B's depth, whatever the weights are: refused.
  assertRefused(() => recognize(config({ num_hidden_layers: undefined })), 'UNSUPPORTED_VARIANT',
    /^LlamaForCausalLM: config\.json num_hidden_layers is missing \(transformers would assume 32/);
});

test('broken or hostile sizes are refused before any arithmetic trusts them', () => {
  assertRefused(() => recognize(config({ num_key_value_heads: 3 })), 'UNSUPPORTED_VARIANT', /num_key_value_heads 3 does not divide num_attention_heads 4/);
  assertRefused(() => recognize(config({ hidden_size: '64' })), 'UNSUPPORTED_VARIANT', /hidden_size is "64", expected an integer/);
  assertRefused(() => recognize(config({ vocab_size: -1 })), 'UNSUPPORTED_VARIANT', /vocab_size is -1/);
  assertRefused(() => recognize(config({ tie_word_embeddings: 'yes' })), 'UNSUPPORTED_VARIANT', /tie_word_embeddings is "yes"/);
  assertRefused(() => recognize(config({ hidden_size: 65_536, num_attention_heads: 64, num_key_value_heads: 64, intermediate_size: 1_048_576, num_hidden_layers: 1_000 })),
    'UNSUPPORTED_VARIANT', /make 2\.\d+e\+14 parameters/);
});
