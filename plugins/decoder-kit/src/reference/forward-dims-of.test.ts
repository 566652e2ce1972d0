/**
 * forwardDimsOf: the family's DecoderDims as the reference's ForwardDims. On released and tiny configs of every
 * family the result equals what the reference's own reader (readForwardDims) makes of the same config.json, so
 * handing the reference the family's reading (the validation path) computes what it computed before.
 */
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../../src/index.js';
import { DecoderFamily } from '../family/decoder-family.js';
import { qwenDims } from '../../../arch-qwen/test/family-dims.js';
import { qwen25_05b, qwen2MoeTiny, qwen3_06b, qwen3MoeTiny } from '../../../arch-qwen/test/configs.js';
import { qwen3Next80b, qwen35_08b, qwen35_35b_a3b } from '../../../arch-qwen/test/hybrid-configs.js';
import { tinyHybridConfig } from '../../../../test/fixtures/tiny-hybrid-models.js';
import { rotaryParameters } from '../blocks/rotary.js';
import { forwardDimsOf } from './forward-dims-of.js';
import { isSparseLayer, readForwardDims, type ForwardDims } from './forward-dims.js';

class LlamaShaped extends DecoderFamily {
  readonly architecture = 'LlamaForCausalLM';
  readonly modelType = 'llama';
  readonly members = 'Llama';
  readonly familyName = 'llama';
  override readonly ropeTypes = ['default', 'llama3'];
}

const llama: ModelConfig = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 320, rope_theta: 5e5, tie_word_embeddings: true,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
};

const CASES: Array<[string, ModelConfig, (c: ModelConfig) => ForwardDims]> = [
  ['Qwen2.5-0.5B', qwen25_05b(), (c) => forwardDimsOf(qwenDims(c))],
  ['Qwen3-0.6B', qwen3_06b(), (c) => forwardDimsOf(qwenDims(c))],
  ['Qwen2.5 with YaRN', { ...qwen25_05b(), rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }, (c) => forwardDimsOf(qwenDims(c))],
  ['tiny Qwen2-MoE', qwen2MoeTiny(), (c) => forwardDimsOf(qwenDims(c))],
  ['tiny Qwen3-MoE', qwen3MoeTiny(), (c) => forwardDimsOf(qwenDims(c))],
  ['Qwen3-Next-80B-A3B', qwen3Next80b(), (c) => forwardDimsOf(qwenDims(c))],
  ['Qwen3.5-0.8B wrapper', qwen35_08b(), (c) => forwardDimsOf(qwenDims(c))],
  ['Qwen3.5-35B-A3B wrapper', qwen35_35b_a3b(), (c) => forwardDimsOf(qwenDims(c))],
  ['tiny Qwen3.5-MoE, transformers 4', tinyHybridConfig({ family: 'qwen3_5_moe', legacy: true }) as ModelConfig, (c) => forwardDimsOf(qwenDims(c))],
  ['Llama with llama3 RoPE (a kit family of the base)', llama, (c) => forwardDimsOf(new LlamaShaped().readDims(c).dims)],
];

describe('forwardDimsOf(family.readDims(config)) == readForwardDims(config)', () => {
  it.each(CASES)('%s', (_what, config, ofFamily) => {
    const mine = ofFamily(config);
    const own = readForwardDims(config);
    // Qwen3.5-MoE: the reference's reader says "every layer sparse" as a flag; the family as step 1, none dense.
    const { allSparse: _all, ...ownMoe } = own.moe ?? {};
    // The RoPE spec may carry resolved defaults (YaRN's betas and attention factor) where the reference's reader
    // leaves them to the rotary block: compare what the rotary block computes from each.
    expect({ ...mine, rope: undefined }).toEqual({ ...own, rope: undefined, moe: own.moe && ownMoe });
    expect(rotaryParameters(mine.rope, mine.headDim)).toEqual(rotaryParameters(own.rope, own.headDim));
    for (let i = 0; i < own.layers; i++) expect(isSparseLayer(mine, i), `layer ${i}`).toBe(isSparseLayer(own, i));
  });

  it('a reading that differs shows (the test can fail)', () => {
    const config = qwen3_06b();
    expect(forwardDimsOf({ ...qwenDims(config), kvHeads: 4 })).not.toEqual(readForwardDims(config));
  });
});
