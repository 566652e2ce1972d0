/**
 * DecoderFamily.readDims is the converter's one reading of config.json: its numbers are the typed reader's
 * (config/read-decoder-config.ts with the family's transformers defaults), its RoPE is the reader's RoPE.
 */
import { describe, expect, it } from 'vitest';
import { isModelImportError, type ModelConfig, type ModelImportError } from '../../../../src/index.js';
import { rotaryParameters } from '../blocks/rotary.js';
import { FAMILY_DEFAULTS, type FamilyDefaults } from '../config/family-config-defaults.js';
import { readDecoderConfig } from '../config/read-decoder-config.js';
import { ropeInverseFrequencies } from '../config/rope-parameters.js';
import { DecoderFamily } from './decoder-family.js';

class ZetaFamily extends DecoderFamily {
  readonly architecture: string = 'ZetaForCausalLM';
  readonly modelType: string = 'zeta';
  readonly members = 'Zeta';
  readonly familyName = 'zeta';
  override readonly ropeTypes = ['default', 'linear', 'dynamic', 'yarn', 'llama3'];
}

/** A family of another config class: its own defaults table, nothing else. */
class OmegaFamily extends ZetaFamily {
  override readonly architecture: string = 'OmegaForCausalLM';
  override readonly modelType: string = 'omega';
  protected override get configDefaults(): FamilyDefaults {
    return { ...FAMILY_DEFAULTS.llama, vocab_size: 777, rms_norm_eps: 1e-5, rope_theta: 5e5, tie_word_embeddings: true };
  }
}

const config = (changes: Record<string, unknown>): ModelConfig => ({
  architectures: ['ZetaForCausalLM'], model_type: 'zeta', hidden_size: 64, intermediate_size: 96,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 320, ...changes,
});

describe('DecoderFamily.readDims', () => {
  it('takes what config.json leaves out from the family\'s defaults table (LlamaConfig for the base)', () => {
    const { dims } = new ZetaFamily().readDims(config({ num_key_value_heads: undefined }));
    expect(dims).toMatchObject({ kvHeads: 4, ropeTheta: 10000, rmsNormEps: 1e-6, tied: false, headDim: 16, qkvBias: false, oBias: false });
    const omega = new OmegaFamily().readDims(config({ model_type: 'omega', architectures: ['OmegaForCausalLM'] })).dims;
    expect(omega).toMatchObject({ ropeTheta: 5e5, rmsNormEps: 1e-5, tied: true });
  });

  describe('the core sizes (family/core-sizes.ts): refused before anything is read with a default', () => {
    const refusal = (family: DecoderFamily, c: ModelConfig): ModelImportError => {
      try {
        family.readDims(c);
      } catch (error) {
        if (!isModelImportError(error)) throw error;
        return error;
      }
      throw new Error('expected a refusal');
    };
    it.each(['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'])('%s missing (or null)', (key) => {
      for (const value of [undefined, null]) {
        const error = refusal(new ZetaFamily(), config({ [key]: value }));
        expect(error.code).toBe('UNSUPPORTED_VARIANT');
        expect(error.message).toMatch(new RegExp(`^ZetaForCausalLM: config\\.json ${key} is missing \\(transformers would assume \\d+, its config class's default`));
        expect(error.message).not.toContain('\n');
        expect(error.hint).toMatch(new RegExp(`^Add ${key} to config\\.json with the checkpoint's value`));
        expect(error.details).toMatchObject({ architecture: 'ZetaForCausalLM', key });
      }
    });
    it("names the family's own default (its defaults table, not LlamaConfig's)", () => {
      expect(refusal(new OmegaFamily(), config({ model_type: 'omega', architectures: ['OmegaForCausalLM'], vocab_size: undefined })).message)
        .toMatch(/vocab_size is missing \(transformers would assume 777,/);
    });
    it.each([
      ['a string', '64', /hidden_size is "64", expected an integer in 1\.\.65536/],
      ['negative', -64, /hidden_size is -64, expected an integer/],
      ['not an integer', 64.5, /hidden_size is 64\.5, expected an integer/],
      ['zero', 0, /hidden_size is 0, expected an integer/],
    ] as const)('hidden_size %s', (_what, value, pattern) => {
      const error = refusal(new ZetaFamily(), config({ hidden_size: value }));
      expect(error.code).toBe('UNSUPPORTED_VARIANT');
      expect(error.message).toMatch(pattern);
    });
    it.each([
      ['num_hidden_layers', '2'], ['num_attention_heads', 4.5], ['vocab_size', -320], ['intermediate_size', '96'],
    ] as const)('%s of the wrong type (%s)', (key, value) => {
      expect(refusal(new ZetaFamily(), config({ [key]: value })).message).toMatch(new RegExp(`config\\.json ${key} is ${JSON.stringify(value).replace(/[.]/g, '\\.')}, expected an integer`));
    });
  });

  it.each([
    ['linear', { rope_type: 'linear', factor: 4 }],
    ['dynamic', { rope_type: 'dynamic', factor: 2 }],
    ['yarn', { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 512, beta_fast: 16 }],
    ['yarn with mscale', { rope_type: 'yarn', factor: 8, original_max_position_embeddings: 512, mscale: 0.7, mscale_all_dim: 1 }],
    ['llama3', { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 }],
  ])('states %s RoPE in dims.rope, computing the frequencies the typed reader computes', (type, scaling) => {
    const c = config({ rope_scaling: scaling, rope_theta: 1e6, max_position_embeddings: 2048 });
    const { dims } = new ZetaFamily().readDims(c);
    expect(dims.rope?.scaling?.type).toBe(type.split(' ')[0]);
    const fromDims = rotaryParameters(dims.rope!, dims.headDim);
    const reading = readDecoderConfig(c, 'zeta', FAMILY_DEFAULTS.llama).rope;
    expect([...fromDims.invFreq]).toEqual([...ropeInverseFrequencies(reading)]);
    expect(fromDims.attentionFactor).toBeCloseTo(reading.attentionScaling, 12);
    // And the variant is seen: the frequencies differ from default RoPE's.
    const plain = rotaryParameters({ theta: 1e6, partialRotaryFactor: 1 }, dims.headDim).invFreq;
    expect(fromDims.invFreq.some((v, i) => Math.abs(v - plain[i]!) > 1e-6) || fromDims.attentionFactor !== 1 || type === 'dynamic').toBe(true);
  });

  it('leaves dims.rope absent for default RoPE over the whole head, at the reader\'s theta (v5 nested first)', () => {
    const { dims, warnings } = new ZetaFamily().readDims(config({ rope_theta: 1e4, rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }));
    expect(dims.rope).toBeUndefined();
    expect(dims.ropeTheta).toBe(1e6);
    expect(warnings.join()).toMatch(/disagree/);
  });

  it('refuses mlp_bias true (the MLP block has no biases) and keys it does not understand, naming them', () => {
    expect(() => new ZetaFamily().readDims(config({ mlp_bias: true }))).toThrow(/mlp_bias is true/);
    expect(() => new ZetaFamily().readDims(config({ sandwich_norm: true }))).toThrow(/config\.json sandwich_norm is not understood/);
  });
});
