import { describe, expect, it } from 'vitest';
import { ModelImportError } from '../../../../src/index.js';
import { readHybridLayout } from './read-hybrid-layout.js';

const sizes = { hidden: 2048, layers: 48 };

describe('readHybridLayout', () => {
  it('fills transformers defaults and derives layer_types from full_attention_interval (default 4)', () => {
    const layout = readHybridLayout({}, 'Qwen3NextForCausalLM', sizes);
    expect(layout.linear).toEqual({ hidden: 2048, kernel: 4, keyDim: 128, valueDim: 128, keyHeads: 16, valueHeads: 32, eps: 1e-6 });
    expect(layout.derivedLayerTypes).toBe(true);
    expect(layout.layerTypes.slice(0, 8)).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention', 'linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);
    expect(layout.layerTypes.filter((t) => t === 'full_attention')).toHaveLength(12);
  });

  it('honours another interval and an explicit layer_types list', () => {
    expect(readHybridLayout({ full_attention_interval: 2 }, 'x', { hidden: 8, layers: 4 }).layerTypes).toEqual(['linear_attention', 'full_attention', 'linear_attention', 'full_attention']);
    const explicit = ['full_attention', 'linear_attention', 'linear_attention'];
    const layout = readHybridLayout({ layer_types: explicit, full_attention_interval: 4, linear_num_value_heads: 48, linear_num_key_heads: 16 }, 'x', { hidden: 8, layers: 3 });
    expect(layout.layerTypes).toEqual(explicit);
    expect(layout.derivedLayerTypes).toBe(false);
    expect(layout.linear.valueHeads).toBe(48);
  });

  it('refuses schedules and head counts the graph cannot represent, naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ layer_types: ['linear_attention', 'mamba'] }, /layer_types/],
      [{ layer_types: ['linear_attention', 'linear_attention'] }, /no full_attention/],
      [{ linear_num_value_heads: 20, linear_num_key_heads: 16 }, /not a multiple/],
      [{ linear_conv_kernel_dim: 0 }, /linear_conv_kernel_dim/],
      [{ hidden_act: 'gelu' }, /hidden_act/],
    ];
    for (const [config, message] of cases) {
      let error: unknown;
      try {
        readHybridLayout(config, 'Qwen3_5ForConditionalGeneration', { hidden: 8, layers: 2 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelImportError);
      expect((error as ModelImportError).code).toBe('UNSUPPORTED_VARIANT');
      expect((error as Error).message).toMatch(message);
    }
  });
});
