/**
 * The families' readings (what the graph is built from, stated to the validator as configFacts) against the
 * typed readers with transformers' defaults: published configs and configs that leave keys to the defaults.
 */
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../../src/index.js';
import { compareConfigFacts } from '../../../validator-forward/src/reference-reading/compare-config-facts.js';
import { readReferenceConfig } from '../../../validator-forward/src/reference-reading/reference-config.js';
import { configFacts } from '../../../decoder-kit/src/config/config-facts.js';
import { dimsFacts } from '../../../decoder-kit/src/config/dims-facts.js';
import { readDecoderConfig } from '../../../decoder-kit/src/config/read-decoder-config.js';
import { familyFor } from './family-map.js';

const BASE = { hidden_size: 64, intermediate_size: 96, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 320 };
const CASES: [string, ModelConfig][] = [
  ['qwen2', { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', ...BASE, rope_theta: 1e6, tie_word_embeddings: true }],
  ['qwen3, head_dim left to the default', { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', ...BASE }],
  ['qwen2_moe, routing left to the defaults', { architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', ...BASE, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, shared_expert_intermediate_size: 48 }],
  ['qwen3_moe, norm_topk_prob and head_dim left to the defaults', { architectures: ['Qwen3MoeForCausalLM'], model_type: 'qwen3_moe', ...BASE, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32 }],
];

describe('the Qwen families read config.json as transformers does', () => {
  it.each(CASES)('%s', (_what, config) => {
    const family = familyFor(String(config.architectures![0]))!;
    const facts = dimsFacts(family.readDims(config).dims);
    expect(compareConfigFacts(facts, readReferenceConfig(config))).toEqual([]);
    expect(compareConfigFacts(facts, configFacts(readDecoderConfig(config)))).toEqual([]);
  });
});
