import { describe, expect, it } from 'vitest';
import { createHooks, type ConvertJob, type StageContext } from '../../../src/index.js';
import { DecoderFamily } from './family/decoder-family.js';
import { defineDecoderPlugin } from './define-decoder-plugin.js';

/** A made-up family with the base class's Llama-style defaults: only the facts that name it. */
class ZetaFamily extends DecoderFamily {
  readonly architecture = 'ZetaForCausalLM';
  override readonly extraArchitectures = ['ZetaLMHeadModel'];
  readonly modelType = 'zeta';
  readonly members = 'Zeta';
  readonly familyName = 'zeta';
}

const config = {
  architectures: ['ZetaForCausalLM'],
  model_type: 'zeta',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  tie_word_embeddings: true,
};

function hooksFor(plugin = defineDecoderPlugin({ name: 'test/zeta', families: [new ZetaFamily()] })) {
  const hooks = createHooks();
  plugin.apply({ hooks });
  return hooks;
}

describe('defineDecoderPlugin', () => {
  it('claims the architecture names only and taps model_type as well', () => {
    const plugin = defineDecoderPlugin({ name: 'test/zeta', families: [new ZetaFamily()] });
    expect(plugin.claims).toEqual(['ZetaForCausalLM', 'ZetaLMHeadModel']);
    expect(plugin.kind).toBe('architecture');
    const hooks = hooksFor(plugin);
    for (const key of ['ZetaForCausalLM', 'ZetaLMHeadModel', 'zeta']) {
      expect(hooks.recognize.get(key)).toBeDefined();
      expect(hooks.convert.get(key)).toBeDefined();
    }
    expect(hooks.recognize.get('LlamaForCausalLM')).toBeUndefined();
  });

  it('answers with a claim from the family: adapter, family name, parameters (tied head counted once), validation', () => {
    const claim = hooksFor().recognize.for('ZetaForCausalLM').call(config, undefined)!;
    // embed 100·64 + per layer (2 norms 2·64, q 64·64, k/v 2·32·64, o 64·64, mlp 3·128·64) + final norm 64
    const perLayer = 2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 128 * 64;
    expect(claim).toMatchObject({
      adapter: 'test/zeta',
      architecture: 'ZetaForCausalLM',
      architectureType: 'zeta',
      family: 'zeta',
      estimatedParameters: 100 * 64 + 2 * perLayer + 64,
    });
    expect(claim.validation?.onnxGraph).toBe('onnx/model.onnx');
    const noGraph = defineDecoderPlugin({ name: 'test/zeta', families: [new ZetaFamily()], options: { onnx: false } });
    expect(hooksFor(noGraph).recognize.for('zeta').call(config, undefined)!.validation).toBeUndefined();
  });

  it('offers the graph for the Qwen3-Next / Qwen3.5 blocks the whole-decoder builder wires, and none when the family withholds it', () => {
    class GatedZeta extends ZetaFamily {
      override readDims(config: Parameters<DecoderFamily['readDims']>[0]) {
        const read = super.readDims(config);
        Object.assign(read.dims, { attentionOutputGate: true, normZeroCentred: true, tensorPrefix: 'model.language_model', positionsFromMask: true });
        return read;
      }
    }
    const gated = defineDecoderPlugin({ name: 'test/zeta', families: [new GatedZeta()] });
    expect(hooksFor(gated).recognize.for('ZetaForCausalLM').call(config, undefined)!.validation?.onnxGraph).toBe('onnx/model.onnx');
    class Withheld extends ZetaFamily {
      override coversGraph(): boolean {
        return false;
      }
    }
    const withheld = defineDecoderPlugin({ name: 'test/zeta', families: [new Withheld()] });
    expect(hooksFor(withheld).recognize.for('ZetaForCausalLM').call(config, undefined)!.validation).toBeUndefined();
  });

  it('refuses a look-alike through the base class checks (one line, UNSUPPORTED_VARIANT)', () => {
    expect(() => hooksFor().recognize.for('ZetaForCausalLM').call({ ...config, hidden_act: 'gelu' }, undefined))
      .toThrow(/ZetaForCausalLM: hidden_act is "gelu"; supported: ZetaForCausalLM \(model_type "zeta": Zeta\)/);
  });

  it('leaves imports another adapter claimed to that adapter', async () => {
    const job = { plan: { claim: { adapter: 'someone/else' } } } as unknown as ConvertJob;
    const result = await hooksFor().convert.for('ZetaForCausalLM').promise(job, {} as StageContext);
    expect(result).toBeUndefined();
  });

  it('refuses a key declared by two families', () => {
    expect(() => defineDecoderPlugin({ name: 'test/zeta', families: [new ZetaFamily(), new ZetaFamily()] }))
      .toThrow(/ZetaForCausalLM is declared by two families/);
  });
});
