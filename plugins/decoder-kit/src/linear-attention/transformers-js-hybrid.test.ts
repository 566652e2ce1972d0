/**
 * transformers.js 4.3.1 runs a hybrid (Gated DeltaNet + attention) decoder built from these pieces: loaded with
 * AutoModelForCausalLM.from_pretrained(absoluteDir) and default options, its cached greedy generate() (prefill,
 * then one token at a time through past_conv / past_recurrent / past_key_values) equals recomputing the whole
 * sequence without any cache at every step. Both layouts: qwen3_next (onnx/model.onnx, input_ids) and a
 * Qwen3_5ForConditionalGeneration folder (text-only: embed_tokens + decoder_model_merged, no position_ids input).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, env, Qwen3_5ForConditionalGeneration, Tensor } from '@huggingface/transformers';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridToyEmbedding, hybridToyShapes, TOY_VOCAB, writeHybridToyDecoder } from './testing/hybrid-toy-decoder.js';

let root: string;
beforeAll(async () => {
  env.allowRemoteModels = false;
  root = await mkdtemp(join(tmpdir(), 'linear-attention-tjs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Greedy tokens by running the decoder on the whole sequence each step, every cache empty. */
async function uncachedGreedy(dir: string, layout: 'next' | 'qwen3_5', seed: number, prompt: number[], steps: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(join(dir, 'onnx', layout === 'next' ? 'model.onnx' : 'decoder_model_merged.onnx'));
  const { dims, convChannels } = hybridToyShapes;
  const embedding = hybridToyEmbedding(seed);
  const tokens = [...prompt];
  for (let s = 0; s < steps; s++) {
    const T = tokens.length;
    const feeds: Record<string, ort.Tensor> = {
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      'past_conv.0': new ort.Tensor('float32', new Float32Array(convChannels * dims.kernel), [1, convChannels, dims.kernel]),
      'past_recurrent.0': new ort.Tensor('float32', new Float32Array(dims.valueHeads * dims.keyDim * dims.valueDim), [1, dims.valueHeads, dims.keyDim, dims.valueDim]),
      'past_key_values.1.key': new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, dims.hidden]),
      'past_key_values.1.value': new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, dims.hidden]),
    };
    if (layout === 'next') feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, T]);
    else {
      const embeds = new Float32Array(T * dims.hidden);
      tokens.forEach((t, i) => embeds.set(embedding.subarray(t * dims.hidden, (t + 1) * dims.hidden), i * dims.hidden));
      feeds.inputs_embeds = new ort.Tensor('float32', embeds, [1, T, dims.hidden]);
    }
    const logits = (await session.run(feeds)).logits.data as Float32Array;
    const last = logits.subarray((T - 1) * TOY_VOCAB, T * TOY_VOCAB);
    tokens.push(last.indexOf(Math.max(...last)));
  }
  await session.release();
  return tokens.slice(prompt.length);
}

describe('transformers.js generates through the hybrid cache', () => {
  for (const [layout, seed] of [['next', 41], ['qwen3_5', 42]] as const) {
    it(`${layout}: cached generate() equals uncached greedy recomputation`, async () => {
      const dir = join(root, layout);
      await writeHybridToyDecoder(dir, layout, seed);
      const prompt = [3, 17, 25, 8, 30];
      const steps = 12;
      const model = await AutoModelForCausalLM.from_pretrained(dir);
      try {
        // As a tokenizer would: the Qwen2-VL prepare_inputs_for_generation that Qwen3.5 inherits never makes a mask.
        const attention_mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
        const input_ids = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
        const output = (await model.generate({ input_ids, attention_mask, max_new_tokens: steps, do_sample: false })) as Tensor;
        const generated = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
        const expected = await uncachedGreedy(dir, layout, seed, prompt, steps);
        expect(generated).toEqual(expected);
        expect(new Set(expected).size).toBeGreaterThan(2); // a constant stream would prove little
      } finally {
        await model.dispose();
      }
    });
  }
});

describe('why the Qwen3.5 decoder graph takes no position_ids', () => {
  it('transformers.js 4.3.1 text-only rope deltas put the first decode token 2T positions too far (transformers: delta 0)', () => {
    // If this starts failing, transformers.js fixed its sign (max + 1 + T instead of max + 1 - T) and a
    // position_ids input would become safe for configs that have a vision_config.
    const T = 5;
    const ids = new Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n]), [1, T]);
    const mask = new Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]);
    const method = (Qwen3_5ForConditionalGeneration.prototype as unknown as { _get_text_only_rope_index: (i: Tensor, m: Tensor) => [Tensor, Tensor] })._get_text_only_rope_index;
    const [positions, deltas] = method.call({}, ids, mask);
    expect(Array.from(positions.data as BigInt64Array, Number).slice(0, T)).toEqual([0, 1, 2, 3, 4]);
    // Decode position = past_length + delta: 5 + 10 = 15, where the model was trained to see 5.
    expect(Number((deltas.data as BigInt64Array)[0])).toBe(2 * T);
  });
});
