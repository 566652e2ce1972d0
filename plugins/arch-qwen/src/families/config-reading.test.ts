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
import { referenceTensorNames } from '../../../validator-forward/src/reference-reading/reference-tensor-names.js';
import { qwen3Next80b, qwen35_08b, qwen35_35b_a3b } from '../../test/hybrid-configs.js';
import { tinyHybridConfig, tinyHybridTensors, type TinyHybridOptions } from '../../../../test/fixtures/tiny-hybrid-models.js';

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

const HYBRID_CORE = { vocab_size: 320, hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 4 };
const HYBRID: [string, ModelConfig][] = [
  ['Qwen3-Next-80B-A3B (v4, full_attention_interval only)', qwen3Next80b()],
  ['Qwen3.5-0.8B wrapper', qwen35_08b()],
  ['Qwen3.5-35B-A3B wrapper', qwen35_35b_a3b()],
  ['Qwen3_5ForCausalLM re-save', { ...(qwen35_08b().text_config as ModelConfig), architectures: ['Qwen3_5ForCausalLM'] }],
  // Only the core sizes stated (the kit's family/core-sizes.ts refuses a config without them), the rest left to
  // the config classes' defaults.
  ['Qwen3-Next left to the defaults', { architectures: ['Qwen3NextForCausalLM'], model_type: 'qwen3_next', ...HYBRID_CORE, intermediate_size: 96, num_experts: 16, moe_intermediate_size: 32, shared_expert_intermediate_size: 48 }],
  ['Qwen3.5 wrapper, text_config with only the sizes', { architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', text_config: { model_type: 'qwen3_5_text', ...HYBRID_CORE, intermediate_size: 96 } }],
  ['Qwen3.5-MoE text-only left to the defaults', { architectures: ['Qwen3_5MoeForCausalLM'], model_type: 'qwen3_5_moe_text', ...HYBRID_CORE, num_experts: 8, moe_intermediate_size: 32, shared_expert_intermediate_size: 48 }],
  ...(['qwen3_next', 'qwen3_5', 'qwen3_5_moe'] as const).flatMap((family): [string, ModelConfig][] => [
    [`tiny ${family}`, tinyHybridConfig({ family }) as ModelConfig],
    [`tiny ${family}, transformers 4, interval only`, tinyHybridConfig({ family, legacy: true, intervalOnly: true }) as ModelConfig],
  ]),
];

describe("the hybrid families' reading agrees with validator-forward's own", () => {
  it.each(HYBRID)('%s', (_what, config) => {
    const family = familyFor(String(config.architectures![0]))!;
    const facts = dimsFacts(family.readDims(config).dims);
    const reference = readReferenceConfig(config);
    expect(reference.full_attention_layers).toBeDefined();
    expect(compareConfigFacts(facts, reference)).toEqual([]);
  });

  it('a wrong reading is a disagreement naming the field (kernel size, schedule, prefix)', () => {
    const config = qwen35_08b();
    const { dims } = familyFor('Qwen3_5ForConditionalGeneration')!.readDims(config);
    const reference = readReferenceConfig(config);
    const wrong = dimsFacts({ ...dims, tensorPrefix: 'model', hybrid: { ...dims.hybrid!, layerTypes: dims.hybrid!.layerTypes.map(() => 'full_attention'), linear: { ...dims.hybrid!.linear, kernel: 3 } } });
    expect(compareConfigFacts(wrong, reference).map((d) => d.field)).toEqual(['full_attention_layers', 'linear_conv_kernel_dim', 'tensor_prefix']);
  });

  it("the validator's tensor list is in every tiny checkpoint with its shape", () => {
    const cases: TinyHybridOptions[] = [{ family: 'qwen3_next' }, { family: 'qwen3_5' }, { family: 'qwen3_5_moe' }, { family: 'qwen3_5', textOnly: true }];
    for (const options of cases) {
      const shapes = new Map(tinyHybridTensors(options).map((t) => [t.name, t.shape]));
      const same = (name: string, shape: number[]) => JSON.stringify(shapes.get(name)) === JSON.stringify(shape);
      for (const t of referenceTensorNames(readReferenceConfig(tinyHybridConfig(options) as ModelConfig))) {
        if (t.alternatives) expect(t.alternatives.some((alt) => alt.every((a) => same(a.name, a.shape))), `${options.family} ${t.name}`).toBe(true);
        else expect(shapes.get(t.name), `${options.family} ${t.name}`).toEqual(t.shape);
      }
    }
  });
});
