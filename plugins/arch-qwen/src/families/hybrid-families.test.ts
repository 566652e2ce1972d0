/**
 * Recognition of the hybrid Qwen families (Qwen3-Next, Qwen3.5, Qwen3.5-MoE and the text-only re-saves): the
 * published configs at their real sizes, transformers' defaults for keys a config leaves out, both serialisations,
 * and the refusals (a key not understood is named).
 */
import { describe, expect, it } from 'vitest';
import { createHooks, isModelImportError, type ModelConfig } from '../../../../src/index.js';
import { archQwen } from '../../index.js';
import { familyFor } from './family-map.js';
import { qwen3Next80b, qwen35_08b, qwen35_35b_a3b } from '../../test/hybrid-configs.js';
import { tinyHybridConfig } from '../../../../test/fixtures/tiny-hybrid-models.js';

function claim(config: ModelConfig, key = String(config.architectures?.[0] ?? config.model_type)) {
  const hooks = createHooks();
  archQwen().apply({ hooks });
  const tap = hooks.recognize.get(key);
  if (!tap) throw new Error(`no recognize tap for ${key}`);
  return tap.call(config, undefined)!;
}

function refusal(config: ModelConfig, key?: string): string {
  try {
    claim(config, key);
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    expect(error.code).toBe('UNSUPPORTED_VARIANT');
    expect(error.message).not.toContain('\n');
    return error.message;
  }
  throw new Error('expected a refusal');
}

const dims = (config: ModelConfig) => familyFor(String(config.architectures?.[0] ?? config.model_type))!.readDims(config).dims;
const text = (config: ModelConfig) => config.text_config as Record<string, unknown>;

describe('the published configs', () => {
  it('Qwen3-Next-80B-A3B: 79.67 B text-decoder parameters, layer_types derived from full_attention_interval', () => {
    const c = claim(qwen3Next80b());
    expect(c).toMatchObject({ architecture: 'Qwen3NextForCausalLM', architectureType: 'qwen3_next', family: 'qwen', warnings: [] });
    // 48 layers: 36 Gated DeltaNet (fused projections) + 12 gated attention, 512 experts each, untied head.
    expect(c.estimatedParameters).toBe(79_674_391_296);
    const d = dims(qwen3Next80b());
    expect(d.hybrid!.derivedLayerTypes).toBe(true);
    expect(d.hybrid!.layerTypes.filter((t) => t === 'full_attention')).toHaveLength(12);
    expect(d.hybrid!.layerTypes.slice(0, 4)).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);
    expect(d).toMatchObject({ tensorPrefix: 'model', positionsFromMask: false, attentionOutputGate: true, normZeroCentred: true, headDim: 256, rope: { theta: 1e7, partialRotaryFactor: 0.25 } });
    expect(d.moe).toEqual({ experts: 512, topK: 10, moeIntermediate: 512, sharedIntermediate: 512, decoderSparseStep: 1, mlpOnlyLayers: [], normTopkProb: true });
  });

  it('Qwen3.5-0.8B: the text model from text_config, 752,393,024 parameters (tied), no position_ids', () => {
    const c = claim(qwen35_08b());
    expect(c).toMatchObject({ architecture: 'Qwen3_5ForConditionalGeneration', architectureType: 'qwen3_5', warnings: [] });
    // By hand: embed 248320·1024 + 18 DeltaNet layers (10,543,264 each) + 6 attention layers (7,340,544)
    // + 24 dense MLPs (3·3584·1024) + 49 RMSNorms of 1024.
    expect(c.estimatedParameters).toBe(752_393_024);
    expect(dims(qwen35_08b())).toMatchObject({
      tensorPrefix: 'model.language_model', positionsFromMask: true, tied: true, hidden: 1024, heads: 8, kvHeads: 2,
      rope: { theta: 1e7, partialRotaryFactor: 0.25, mropeSection: { sections: [11, 11, 10], interleaved: true } },
      hybrid: { derivedLayerTypes: false, linear: { keyHeads: 16, valueHeads: 16, keyDim: 128, valueDim: 128, kernel: 4 } },
    });
    expect(dims(qwen35_08b()).moe).toBeUndefined();
  });

  it('Qwen3.5-35B-A3B: every layer sparse with a shared expert, the router always renormalised', () => {
    const c = claim(qwen35_35b_a3b());
    expect(c).toMatchObject({ architecture: 'Qwen3_5MoeForConditionalGeneration', architectureType: 'qwen3_5_moe', warnings: [] });
    expect(c.estimatedParameters).toBe(34_660_610_688);
    const d = dims(qwen35_35b_a3b());
    expect(d.intermediate).toBe(0);
    expect(d.moe).toEqual({ experts: 256, topK: 8, moeIntermediate: 512, sharedIntermediate: 512, decoderSparseStep: 1, mlpOnlyLayers: [], normTopkProb: true });
  });

  it('the text-only re-saves read the same text model from the top level, tensors under model.*', () => {
    const dense = { ...text(qwen35_08b()), architectures: ['Qwen3_5ForCausalLM'] };
    expect(claim(dense)).toMatchObject({ architecture: 'Qwen3_5ForCausalLM', architectureType: 'qwen3_5_text', estimatedParameters: 752_393_024 });
    expect(dims(dense).tensorPrefix).toBe('model');
    const moe = { ...text(qwen35_35b_a3b()), architectures: ['Qwen3_5MoeForCausalLM'] };
    expect(claim(moe)).toMatchObject({ architectureType: 'qwen3_5_moe_text', estimatedParameters: 34_660_610_688 });
    // model_type keys answer configs without architectures.
    expect(claim({ ...dense, architectures: undefined }, 'qwen3_5_text').architecture).toBe('qwen3_5_text');
  });
});

describe("transformers' defaults and both serialisations", () => {
  // The core sizes (family/core-sizes.ts in the kit) must be stated; everything else is Qwen3NextConfig's.
  const CORE = { vocab_size: 320, hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 96 };
  const EXPERTS = { num_experts: 4, moe_intermediate_size: 32, shared_expert_intermediate_size: 48 };

  it('a Qwen3-Next config that states only its sizes takes the rest from Qwen3NextConfig', () => {
    const d = dims({ architectures: ['Qwen3NextForCausalLM'], model_type: 'qwen3_next', ...CORE, ...EXPERTS, num_experts: 16 });
    expect(d).toMatchObject({ vocab: 320, hidden: 64, intermediate: 96, layers: 4, heads: 4, kvHeads: 2, headDim: 256, tied: false, rope: { theta: 10000, partialRotaryFactor: 0.25 } });
    expect(d.rope!.mropeSection).toBeUndefined();
    expect(d.hybrid!.linear).toMatchObject({ kernel: 4, keyDim: 128, valueDim: 128, keyHeads: 16, valueHeads: 32 });
    expect(d.moe).toMatchObject({ experts: 16, topK: 10, normTopkProb: true, sharedIntermediate: 48 });
  });

  it('a Qwen3.5 wrapper whose text_config states only its sizes takes every other Qwen3_5TextConfig default (mrope_section [11, 11, 10])', () => {
    const d = dims({ architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', text_config: { model_type: 'qwen3_5_text', ...CORE } });
    expect(d).toMatchObject({ vocab: 320, hidden: 64, intermediate: 96, layers: 4, heads: 4, kvHeads: 4, headDim: 256, rope: { mropeSection: { sections: [11, 11, 10] } } });
    // Qwen3.5-MoE: every layer sparse, so intermediate_size is no core size (the class removed it).
    const { intermediate_size: _dense, ...moeCore } = CORE;
    const moe = dims({ architectures: ['Qwen3_5MoeForConditionalGeneration'], model_type: 'qwen3_5_moe', text_config: { model_type: 'qwen3_5_moe_text', ...moeCore, num_attention_heads: 16, ...EXPERTS, num_experts: 8 } });
    expect(moe).toMatchObject({ hidden: 64, layers: 4, kvHeads: 2, moe: { experts: 8, topK: 8 } });
  });

  it('transformers 4 (top-level rope_theta / partial_rotary_factor, torch_dtype) and 5 (rope_parameters, dtype) read the same', () => {
    for (const family of ['qwen3_next', 'qwen3_5', 'qwen3_5_moe'] as const) {
      const v5 = dims(tinyHybridConfig({ family }));
      const v4 = dims(tinyHybridConfig({ family, legacy: true }));
      // v4-style files carry no mrope_section: transformers falls back to [11, 11, 10], which does not fit the tiny
      // rotary width (and does not matter for text), so compare everything but the sections.
      expect({ ...v4, rope: { ...v4.rope, mropeSection: undefined } }).toEqual({ ...v5, rope: { ...v5.rope, mropeSection: undefined } });
    }
  });

  it('layer_types given or derived from full_attention_interval: the same schedule', () => {
    const given = dims(tinyHybridConfig({ family: 'qwen3_5' })).hybrid!;
    const derived = dims(tinyHybridConfig({ family: 'qwen3_5', intervalOnly: true })).hybrid!;
    expect(derived.layerTypes).toEqual(given.layerTypes);
    expect([given.derivedLayerTypes, derived.derivedLayerTypes]).toEqual([false, true]);
  });

  it('Qwen3.5-MoE keys the class removed are ignored with a warning, as transformers ignores them', () => {
    const config = qwen35_35b_a3b();
    text(config).norm_topk_prob = false;
    const c = claim(config);
    expect(c.warnings.join()).toMatch(/text_config\.norm_topk_prob ignored/);
    expect(dims(config).moe!.normTopkProb).toBe(true);
  });
});

describe('refusals name what they found', () => {
  const cases: Array<[string, () => ModelConfig, RegExp]> = [
    ['an unknown text_config key', () => { const c = qwen35_08b(); text(c).sliding_attention_every = 2; return c; }, /text_config\.sliding_attention_every is not understood/],
    ['a hostile key (control characters, length) quoted and cut', () => { const c = qwen35_08b(); text(c)[`x\n\u001b[2J${'y'.repeat(100)}`] = 1; return c; }, /text_config\."x\\n\\u001b\[2Jy+… is not understood/],
    ['an unknown wrapper key', () => ({ ...qwen35_08b(), audio_config: {} }), /Qwen3_5ForConditionalGeneration: audio_config is not understood/],
    ['an unknown Qwen3-Next key', () => ({ ...qwen3Next80b(), attn_logit_softcapping: 30 }), /attn_logit_softcapping is not understood/],
    ['an unknown rope_parameters key', () => { const c = qwen35_08b(); (text(c).rope_parameters as Record<string, unknown>).low_freq_factor = 1; return c; }, /text_config\.rope_parameters\.low_freq_factor is not understood/],
    ['YaRN', () => ({ ...qwen3Next80b(), rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 262144 } }), /rope_scaling\.rope_type is "yarn"; supported: .*\(rope_type "default"\)/],
    ['an FP8 release', () => { const c = qwen35_35b_a3b(); c.quantization_config = { quant_method: 'fp8', weight_block_size: [128, 128] }; return c; }, /quantization_config \(quant_method "fp8"\)/],
    ['attn_output_gate false', () => { const c = qwen35_08b(); text(c).attn_output_gate = false; return c; }, /text_config\.attn_output_gate is false/],
    ['mrope_section not covering the rotary width', () => { const c = qwen35_08b(); (text(c).rope_parameters as Record<string, unknown>).mrope_section = [8, 8, 8]; return c; }, /mrope_section \[8,8,8\] covers 24 rotary frequencies, but .* gives 32/],
    ['a layer_types entry of another kind', () => { const c = qwen35_08b(); (text(c).layer_types as string[])[1] = 'sliding_attention'; return c; }, /layer_types is not 24 entries/],
    ['MoE keys in a dense text config', () => { const c = qwen35_08b(); text(c).num_experts = 8; return c; }, /text_config\.num_experts is an MoE setting, but this is a dense model/],
    ['tie_word_embeddings disagreeing between wrapper and text_config', () => ({ ...qwen35_08b(), tie_word_embeddings: false }), /tie_word_embeddings is false but text_config\.tie_word_embeddings is true/],
    ['a vision-language text model under the Qwen3.5 name', () => { const c = qwen35_08b(); text(c).model_type = 'qwen3_vl_text'; return c; }, /text_config\.model_type is "qwen3_vl_text", expected "qwen3_5_text"/],
    ['Qwen3-VL under the Qwen3.5 architecture', () => ({ ...qwen35_08b(), model_type: 'qwen3_vl' }), /config model_type is "qwen3_vl" under architecture Qwen3_5ForConditionalGeneration/],
    ['a non-silu activation', () => ({ ...qwen3Next80b(), hidden_act: 'gelu' }), /hidden_act is "gelu"/],
    ['a wrapper without text_config (no sizes at all)', () => { const c = qwen35_08b(); delete c.text_config; return c; }, /config\.json text_config\.vocab_size is missing \(transformers would assume 248320/],
    ['a missing hidden_size', () => { const c = qwen35_08b(); delete text(c).hidden_size; return c; }, /text_config\.hidden_size is missing/],
    ['a missing expert width (Qwen3-Next)', () => { const c = qwen3Next80b(); delete c.moe_intermediate_size; return c; }, /config\.json moe_intermediate_size is missing/],
    ['a missing intermediate_size in a dense text config', () => { const c = qwen35_08b(); delete text(c).intermediate_size; return c; }, /text_config\.intermediate_size is missing/],
    ['num_hidden_layers as a string', () => { const c = qwen35_08b(); text(c).num_hidden_layers = '24'; return c; }, /num_hidden_layers is "24", expected an integer/],
    ['a negative vocab_size', () => ({ ...qwen3Next80b(), vocab_size: -1 }), /vocab_size is -1, expected an integer/],
    ['value heads not a multiple of key heads', () => ({ ...qwen3Next80b(), linear_num_value_heads: 24, linear_num_key_heads: 16 }), /linear_num_value_heads 24 is not a multiple of linear_num_key_heads 16/],
  ];
  for (const [name, make, pattern] of cases) it(name, () => expect(refusal(make())).toMatch(pattern));

  it('the other Qwen types stay unclaimed (the kernel lists the supported architectures)', () => {
    const hooks = createHooks();
    archQwen().apply({ hooks });
    for (const key of ['Qwen3VLForConditionalGeneration', 'Qwen3VLMoeForConditionalGeneration', 'Qwen2_5_VLForConditionalGeneration',
      'Qwen2AudioForConditionalGeneration', 'Qwen2_5OmniForConditionalGeneration', 'Qwen3OmniMoeForConditionalGeneration',
      'qwen3_vl', 'qwen3_vl_moe', 'qwen2_5_omni', 'qwen3_omni_moe', 'qwen3_asr', 'qwen2_audio']) {
      expect(hooks.recognize.get(key), key).toBeUndefined();
    }
  });
});
