import { describe, expect, it } from 'vitest';
import { Kernel, createHooks, isModelImportError, type ArchitectureClaim, type ModelConfig, type PlannedFile } from '../../../src/index.js';
import { archQwen } from '../index.js';
import { qwen25_05b, qwen2MoeTiny, qwen3_06b, qwen3MoeTiny } from '../test/configs.js';
import { familyFor } from './families/family-map.js';

function hooksWithPlugin() {
  const hooks = createHooks();
  archQwen().apply({ hooks });
  return hooks;
}

function recognize(config: ModelConfig, key = config.architectures?.[0] ?? String(config.model_type)): ArchitectureClaim | undefined {
  return hooksWithPlugin().recognize.for(key).call(config, undefined);
}

function refusal(config: ModelConfig, key?: string): { code: string; message: string } {
  try {
    recognize(config, key);
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    expect(error.message).not.toContain('\n');
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a refusal');
}

describe('recognize', () => {
  it('claims Qwen2.5-0.5B with its parameter count and a validation graph', () => {
    const claim = recognize(qwen25_05b())!;
    expect(claim).toMatchObject({
      adapter: 'model-import/arch-qwen',
      architecture: 'Qwen2ForCausalLM',
      architectureType: 'qwen2',
      family: 'qwen',
      warnings: [],
      estimatedParameters: 494_032_768,
    });
    expect(claim.validation).toMatchObject({ tolerance: 1e-4, onnxGraph: 'onnx/model.onnx' });
    expect(typeof claim.validation!.referenceForward).toBe('function');
  });

  it('gives every claim its own session options (consumers may write into them)', () => {
    const a = recognize(qwen25_05b())!.validation!.sessionOptions as { extra: { session: Record<string, string> } };
    a.extra.session.poisoned = '1';
    const b = recognize(qwen25_05b())!.validation!.sessionOptions as { extra: { session: Record<string, string> } };
    expect(b.extra.session.poisoned).toBeUndefined();
    expect(b).toMatchObject({ graphOptimizationLevel: 'all' });
  });

  it('claims Qwen3-0.6B (head_dim 128, nH·D ≠ H) with 596,049,920 parameters', () => {
    const claim = recognize(qwen3_06b())!;
    expect(claim.architectureType).toBe('qwen3');
    expect(claim.estimatedParameters).toBe(596_049_920);
  });

  it('claims both MoE families, the v5 spellings (dtype, rope_parameters, layer_types) included', () => {
    expect(recognize(qwen2MoeTiny())!.architectureType).toBe('qwen2_moe');
    const claim = recognize(qwen3MoeTiny())!;
    expect(claim.architectureType).toBe('qwen3_moe');
    expect(claim.warnings).toEqual([]);
  });

  it('recognises a config without architectures under its model_type key', () => {
    const config = qwen25_05b();
    delete config.architectures;
    const claim = recognize(config, 'qwen2')!;
    expect(claim.architecture).toBe('qwen2');
    expect(claim.estimatedParameters).toBe(494_032_768);
  });

  it('accepts dtype instead of torch_dtype and warns when both disagree', () => {
    const config = qwen25_05b();
    delete config.torch_dtype;
    config.dtype = 'float32';
    expect(recognize(config)!.warnings).toEqual([]);
    config.torch_dtype = 'bfloat16';
    expect(recognize(config)!.warnings.join()).toContain('torch_dtype bfloat16 and dtype float32');
  });

  it('does not answer keys it does not own', () => {
    const hooks = hooksWithPlugin();
    expect(hooks.recognize.get('LlamaForCausalLM')).toBeUndefined();
  });

  it("lists only the architecture names in the kernel's unsupported-architecture error (no model_type keys)", () => {
    const kernel = new Kernel().use(archQwen());
    const names = ['Qwen2ForCausalLM', 'Qwen2MoeForCausalLM', 'Qwen3ForCausalLM', 'Qwen3MoeForCausalLM', 'Qwen3NextForCausalLM',
      'Qwen3_5ForCausalLM', 'Qwen3_5ForConditionalGeneration', 'Qwen3_5MoeForCausalLM', 'Qwen3_5MoeForConditionalGeneration'];
    expect(kernel.supportedArchitectures()).toEqual(names);
    expect(() => kernel.claim({ architectures: ['MambaForCausalLM'], model_type: 'mamba' }))
      .toThrow(`Supported architectures: ${names.join(', ')}.`);
    expect(kernel.claim({ ...qwen25_05b(), architectures: undefined }).architecture).toBe('qwen2'); // model_type keys still answer
  });

  it('lists the architectures as claims', () => {
    expect(archQwen().claims).toEqual(['Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Qwen2MoeForCausalLM', 'Qwen3MoeForCausalLM',
      'Qwen3NextForCausalLM', 'Qwen3_5ForConditionalGeneration', 'Qwen3_5ForCausalLM', 'Qwen3_5MoeForConditionalGeneration', 'Qwen3_5MoeForCausalLM']);
  });
});

describe('refusals (UNSUPPORTED_VARIANT, one line saying what was found and what is supported)', () => {
  const cases: Array<[string, (c: ModelConfig) => void, RegExp]> = [
    ['GPTQ', (c) => (c.quantization_config = { quant_method: 'gptq', bits: 4 }), /quantization_config \(quant_method "gptq"\)/],
    ['AWQ', (c) => (c.quantization_config = { quant_method: 'awq' }), /"awq"/],
    ['FP8 in another format', (c) => (c.quantization_config = { quant_method: 'fp8', fmt: 'e5m2' }), /quantization_config\.fmt is "e5m2"/],
    ['llama3 rope_scaling', (c) => (c.rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }), /rope_scaling is .*llama3/],
    ['longrope rope_parameters', (c) => (c.rope_parameters = { rope_type: 'longrope', rope_theta: 1e6 }), /rope_type is "longrope"/],
    ['sliding window', (c) => (c.use_sliding_window = true), /use_sliding_window is true/],
    ['sliding layer_types', (c) => (c.layer_types = ['full_attention', 'sliding_attention']), /layer_types contains "sliding_attention"/],
    ['gelu', (c) => (c.hidden_act = 'gelu'), /hidden_act is "gelu"/],
    ['vision-language model_type', (c) => (c.model_type = 'qwen2_vl'), /model_type is "qwen2_vl"/],
    ['missing model_type', (c) => delete c.model_type, /no model_type/],
    ['vision_config', (c) => (c.vision_config = { depth: 32 }), /vision_config/],
    ['hidden_size > 65536', (c) => (c.hidden_size = 1 << 20), /hidden_size is 1048576/],
    ['1001 layers', (c) => (c.num_hidden_layers = 1001), /num_hidden_layers is 1001/],
    ['vocab > 10M', (c) => (c.vocab_size = 10_000_001), /vocab_size is 10000001/],
    ['non-integer size', (c) => (c.intermediate_size = 4864.5), /intermediate_size is 4864.5/],
    ['zero heads', (c) => (c.num_attention_heads = 0), /num_attention_heads is 0/],
    ['negative size', (c) => (c.hidden_size = -896), /hidden_size is -896/],
    ['string size', (c) => (c.hidden_size = '896'), /hidden_size is "896"/],
    ['heads not a multiple of kv heads', (c) => (c.num_key_value_heads = 3), /num_key_value_heads 3 does not divide num_attention_heads 14/],
    ['odd head_dim', (c) => (c.head_dim = 63), /head_dim is 63, odd/],
    ['non-boolean tie', (c) => (c.tie_word_embeddings = 'yes'), /tie_word_embeddings is "yes"/],
    ['absurd product of sane sizes', (c) => Object.assign(c, { hidden_size: 65536, intermediate_size: 1_000_000, num_hidden_layers: 1000, num_attention_heads: 512, num_key_value_heads: 512 }), /parameters/],
  ];
  for (const [name, mutate, pattern] of cases) {
    it(name, () => {
      const config = qwen25_05b();
      mutate(config);
      const { code, message } = refusal(config);
      expect(code).toBe('UNSUPPORTED_VARIANT');
      expect(message).toMatch(pattern);
      // One line naming the architecture; look-alikes also say what is supported, a bad value names its key.
      expect(message).toMatch(/^Qwen2ForCausalLM: [^\n]+$/);
      expect(message).toMatch(/supported: |config\.json \w+ /);
    });
  }

  it('takes what config.json leaves out from Qwen2Config, as transformers does, but for the core sizes', () => {
    const missing = qwen25_05b();
    delete missing.tie_word_embeddings; // Qwen2Config: False
    delete missing.rms_norm_eps;
    expect(recognize(missing)!.estimatedParameters).toBe(recognize({ ...qwen25_05b(), tie_word_embeddings: false })!.estimatedParameters);
    expect(familyFor('Qwen2ForCausalLM')!.readDims(missing).dims).toMatchObject({ tied: false, rmsNormEps: 1e-6 });
    // head_dim = hidden_size // num_attention_heads (modeling_qwen2.py), even when it does not divide.
    const { dims } = familyFor('Qwen2ForCausalLM')!.readDims({ ...qwen25_05b(), num_attention_heads: 13, num_key_value_heads: 13 });
    expect(dims.headDim).toBe(68);
  });

  it('refuses an MoE config without its expert sizes, naming the key; intermediate_size only when a layer is dense', () => {
    const drop = (config: ModelConfig, key: string) => {
      const copy = { ...config };
      delete copy[key];
      return copy;
    };
    for (const key of ['num_experts', 'moe_intermediate_size', 'shared_expert_intermediate_size']) {
      const { code, message } = refusal(drop(qwen2MoeTiny(), key));
      expect(code).toBe('UNSUPPORTED_VARIANT');
      expect(message).toMatch(new RegExp(`^Qwen2MoeForCausalLM: config\\.json ${key} is missing \\(transformers would assume \\d+`));
    }
    // transformers 5 spells the expert count num_local_experts: either spelling states it.
    expect(recognize({ ...drop(qwen3MoeTiny(), 'num_experts'), num_local_experts: 4 })).toBeDefined();
    // Qwen3-MoE has no shared expert: that width is no core size there.
    expect(recognize(drop(qwen3MoeTiny(), 'shared_expert_intermediate_size'))).toBeDefined();
    // Every layer sparse: transformers never uses intermediate_size, so neither do we; one dense layer needs it.
    expect(recognize(drop(qwen3MoeTiny(), 'intermediate_size'))).toBeDefined();
    expect(refusal({ ...drop(qwen3MoeTiny(), 'intermediate_size'), mlp_only_layers: [1] }).message).toMatch(/config\.json intermediate_size is missing/);
  });

  it('accepts YaRN, linear and dynamic RoPE (Qwen documents YaRN for long context), stating them in dims.rope', () => {
    const yarn = { ...qwen25_05b(), rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } };
    const claim = recognize(yarn)!;
    expect(claim.validation?.configFacts).toMatchObject({ rope_type: 'yarn', rope_factor: 4 });
    expect(familyFor('Qwen2ForCausalLM')!.readDims(yarn).dims.rope?.scaling).toMatchObject({ type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768 });
    expect(recognize({ ...qwen3_06b(), rope_parameters: { rope_type: 'dynamic', factor: 2, rope_theta: 1e6 } })?.validation).toBeDefined();
    expect(recognize({ ...qwen25_05b(), rope_scaling: { rope_type: 'linear', factor: 2 } })?.validation).toBeDefined();
  });

  it('accepts fine-grained FP8 (dequantised at conversion): the disk estimate is the bf16 size, or --dtype\'s', () => {
    const config = { ...qwen25_05b(), quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] } };
    const claim = recognize(config)!;
    const files: PlannedFile[] = [{ path: 'model.safetensors', size: 1000, role: 'weights' }];
    const base = { modelsDir: '/m', yes: true, acceptLicense: true, skipValidation: false };
    expect(claim.conversionScratchBytes(files, base)).toBe(2000);
    expect(claim.conversionScratchBytes(files, { ...base, dtype: 'f32' })).toBe(4000);
  });

  it('refuses MoE configs with impossible routing', () => {
    const config = qwen3MoeTiny();
    config.num_experts_per_tok = 8;
    expect(refusal(config).message).toMatch(/num_experts_per_tok is 8, expected an integer in 1\.\.4/);
    const layers = qwen2MoeTiny();
    layers.mlp_only_layers = [5];
    expect(refusal(layers).message).toMatch(/mlp_only_layers is \[5\]/);
  });

  it('leaves Qwen v1 (QWenLMHeadModel, remote code) untapped, so the kernel reports it unsupported', () => {
    const hooks = hooksWithPlugin();
    expect(hooks.recognize.get('QWenLMHeadModel')).toBeUndefined();
    expect(hooks.convert.get('QWenLMHeadModel')).toBeUndefined();
  });
});

describe('conversionScratchBytes', () => {
  const files: PlannedFile[] = [
    { path: 'config.json', size: 700, role: 'config' },
    { path: 'model.safetensors', size: 988_097_824, role: 'weights' },
  ];
  const claim = recognize(qwen25_05b())!;
  const base = { modelsDir: '/m', yes: true, acceptLicense: true, skipValidation: false };

  it('is 0 when the files can be linked', () => {
    expect(claim.conversionScratchBytes(files, base)).toBe(0);
    expect(claim.conversionScratchBytes(files, { ...base, dtype: 'bf16' })).toBe(0);
    expect(claim.conversionScratchBytes(files, { ...base, maxShardSize: 2e9 })).toBe(0);
  });

  it('is the converted size for a dtype change, resharding or .bin', () => {
    expect(claim.conversionScratchBytes(files, { ...base, dtype: 'f32' })).toBe(2 * 988_097_824);
    expect(claim.conversionScratchBytes(files, { ...base, maxShardSize: 5e8 })).toBe(988_097_824);
    const bin: PlannedFile[] = [{ path: 'pytorch_model.bin', size: 1000, role: 'weights' }];
    expect(claim.conversionScratchBytes(bin, base)).toBe(1000);
  });
});
