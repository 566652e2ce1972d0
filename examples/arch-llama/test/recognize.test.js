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

test('claims a tiny Llama: type, family, parameters from the config, no validation support, no scratch space', () => {
  const claim = recognize(tinyLlamaConfig(), stageContext());
  assert.ok(claim);
  assert.equal(claim.adapter, 'model-import-arch-llama');
  assert.equal(claim.architecture, 'LlamaForCausalLM');
  assert.equal(claim.architectureType, 'llama');
  assert.equal(claim.family, 'llama');
  assert.deepEqual(claim.warnings, []);
  assert.equal(claim.estimatedParameters, countElements(tinyLlamaTensors()));
  // No forward graph: validators must see no `validation` at all, so they skip their forward checks.
  assert.equal('validation' in claim, false);
  assert.equal(claim.conversionScratchBytes([{ path: 'model.safetensors', size: 1e9, role: 'weights' }], stageContext().options), 0);
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

test('rope_scaling: null, "default" and Llama 3.1\'s "llama3" are handled; other types are refused, or accepted when listed', () => {
  const llama3 = { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };
  assert.ok(recognize(config({ rope_scaling: llama3 })));
  assert.ok(recognize(config({ rope_scaling: { type: 'default' } })));
  assert.ok(recognize(config({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } })));
  for (const rope of [{ type: 'linear', factor: 2 }, { rope_type: 'dynamic', factor: 2 }, { rope_type: 'yarn', factor: 4 }]) {
    assertRefused(() => recognize(config({ rope_scaling: rope })), 'UNSUPPORTED_VARIANT', /rope_scaling has rope type "(linear|dynamic|yarn)"; this adapter handles "default", "llama3"/);
  }
  assertRefused(() => recognize(config({ rope_parameters: { rope_type: 'longrope' } })), 'UNSUPPORTED_VARIANT', /rope_parameters has rope type "longrope"/);
  const permissive = appliedHooks({ ropeTypes: ['default', 'llama3', 'linear'] });
  assert.ok(permissive.recognize(config({ rope_scaling: { type: 'linear', factor: 2 } })));
});

test('look-alikes are refused with what was found and what is supported', () => {
  assertRefused(() => recognize(config({ quantization_config: { quant_method: 'gptq', bits: 4 } })), 'UNSUPPORTED_VARIANT',
    /quantization_config \(quant_method "gptq"\): a pre-quantized checkpoint; supported: LlamaForCausalLM/);
  assertRefused(() => recognize(config({ quantization_config: { load_in_4bit: true } })), 'UNSUPPORTED_VARIANT', /quant_method "unknown"/);
  assertRefused(() => recognize(config({ model_type: 'mistral' })), 'UNSUPPORTED_VARIANT', /model_type is "mistral"/);
  assertRefused(() => recognize(config({ attention_bias: true })), 'UNSUPPORTED_VARIANT', /attention_bias is true/);
  assertRefused(() => recognize(config({ mlp_bias: true })), 'UNSUPPORTED_VARIANT', /mlp_bias is true/);
  assertRefused(() => recognize(config({ hidden_act: 'gelu' })), 'UNSUPPORTED_VARIANT', /hidden_act is "gelu"/);
  assertRefused(() => recognize(config({ vision_config: {} })), 'UNSUPPORTED_VARIANT', /vision_config/);
});

test('broken or hostile sizes are refused before any arithmetic trusts them', () => {
  assertRefused(() => recognize(config({ num_key_value_heads: 3 })), 'UNSUPPORTED_VARIANT', /num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
  assertRefused(() => recognize(config({ hidden_size: 66 })), 'UNSUPPORTED_VARIANT', /hidden_size 66 is not a multiple of num_attention_heads 4 and head_dim is absent/);
  assertRefused(() => recognize(config({ hidden_size: '64' })), 'UNSUPPORTED_VARIANT', /hidden_size is "64", expected an integer/);
  assertRefused(() => recognize(config({ vocab_size: -1 })), 'UNSUPPORTED_VARIANT', /vocab_size is -1/);
  assertRefused(() => recognize(config({ num_hidden_layers: undefined })), 'UNSUPPORTED_VARIANT', /config.json has no num_hidden_layers/);
  assertRefused(() => recognize(config({ tie_word_embeddings: 'yes' })), 'UNSUPPORTED_VARIANT', /tie_word_embeddings is "yes"/);
  assertRefused(() => recognize(config({ hidden_size: 65_536, intermediate_size: 1_048_576, num_hidden_layers: 1_000 })),
    'UNSUPPORTED_VARIANT', /make 2\.\d+e\+14 parameters/);
});

test('--dtype other than the checkpoint\'s is refused at recognition (the weights are linked, not rewritten)', () => {
  assert.ok(recognize(tinyLlamaConfig(), stageContext({ dtype: 'bf16' })));
  assertRefused(() => recognize(tinyLlamaConfig(), stageContext({ dtype: 'f32' })), 'USAGE', /keeps the checkpoint's dtype \(bf16\); --dtype f32/);
});

test('bad factory options are a config error', () => {
  assertRefused(() => archLlama(/** @type {any} */ ({ ropeType: ['x'] })), 'CONFIG_INVALID', /unknown option "ropeType"/);
  assertRefused(() => archLlama(/** @type {any} */ ({ ropeTypes: 'llama3' })), 'CONFIG_INVALID', /ropeTypes must be a list/);
});
