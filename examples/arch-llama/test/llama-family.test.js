// @ts-check
/** The family facts on their own: the tensor list the kit checks a checkpoint against, from the config alone. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LlamaFamily } from '../index.js';
import { tinyLlamaConfig, tinyLlamaTensors } from './tiny-llama.js';

/** @param {import('model-import').ModelConfig} config */
function expectedTensors(config) {
  const family = new LlamaFamily();
  const { dims } = family.readDims(config);
  const specs = family.tensorGroups(dims).flatMap((group) => group.layouts[0]);
  if (!dims.tied) specs.push(family.lmHead(dims));
  return specs.map((spec) => `${spec.name} ${JSON.stringify(spec.shape)}`).sort();
}

test('the tensors a Llama checkpoint must hold are the ones transformers writes (tied, untied, GQA, head_dim)', () => {
  for (const sizes of [{}, { tied: false }, { heads: 8, kvHeads: 2, headDim: 32 }]) {
    const written = tinyLlamaTensors(sizes).map((t) => `${t.name} ${JSON.stringify(t.shape)}`).sort();
    assert.deepEqual(expectedTensors(tinyLlamaConfig(sizes)), written, JSON.stringify(sizes));
  }
});

test('attention_bias adds q, k, v and o biases (LlamaAttention); the family declares its names in one place', () => {
  const names = expectedTensors({ ...tinyLlamaConfig(), attention_bias: true }).filter((n) => n.includes('.bias '));
  assert.deepEqual(names.filter((n) => n.startsWith('model.layers.0.')), [
    'model.layers.0.self_attn.k_proj.bias [32]',
    'model.layers.0.self_attn.o_proj.bias [64]',
    'model.layers.0.self_attn.q_proj.bias [64]',
    'model.layers.0.self_attn.v_proj.bias [32]',
  ]);
  const family = new LlamaFamily();
  assert.deepEqual([family.architectures, family.modelType, family.familyName], [['LlamaForCausalLM'], 'llama', 'llama']);
});
