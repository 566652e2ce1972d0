/**
 * Whole hybrid decoders built by the kit load in @huggingface/transformers 4.3.1 with
 * AutoModelForCausalLM.from_pretrained(absoluteDir) and default options, and greedy generate() equals the
 * reference's greedy generation: qwen3_next as DecoderOnly (onnx/model.onnx with position_ids), the Qwen3.5
 * wrappers as image-text-to-text in text-only mode (onnx/embed_tokens.onnx + onnx/decoder_model_merged.onnx, no
 * position_ids input). transformers.js names its cache from config layer_types, so the Qwen3-Next folder gets
 * them written (the converter publishes them; the released config has only full_attention_interval).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceGreedyGenerate } from '../reference/index.js';
import { TINY_HYBRID } from '../testing/seeded-hybrid.js';
import { writeSeededModel, type SeededModelOptions } from '../testing/write-seeded-model.js';
import { buildQwenGraph } from '../../../arch-qwen/test/family-dims.js';

let root: string;
beforeAll(async () => {
  env.allowRemoteModels = false; // no network: a missing file must fail, not download
  root = await mkdtemp(join(tmpdir(), 'kit-hybrid-tjs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ids = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const NEW_TOKENS = 8;
const NEXT_LAYER_TYPES = ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'];

const CASES: Array<[string, SeededModelOptions]> = [
  ['qwen3_next bf16 (onnx/model.onnx)', { family: 'qwen3_next', dtype: 'bf16', tied: false, seed: 51, config: { ...TINY_HYBRID.qwen3_next, layer_types: NEXT_LAYER_TYPES } }],
  ['qwen3_5 wrapper bf16 (embed_tokens + decoder_model_merged)', { family: 'qwen3_5', dtype: 'bf16', tied: false, seed: 52, wrapperExtras: true }],
  ['qwen3_5_moe wrapper bf16, fused experts', { family: 'qwen3_5_moe', dtype: 'bf16', tied: false, seed: 53, expertLayout: 'fused' }],
  ['Qwen3_5ForCausalLM text-only re-save (onnx/model.onnx, no vision_config, no position_ids)', {
    family: 'qwen3_5', dtype: 'bf16', tied: true, seed: 54,
    config: { architectures: ['Qwen3_5ForCausalLM'], ...(TINY_HYBRID.qwen3_5.text_config as Record<string, unknown>) },
  }],
];

describe('transformers.js generates with the kit-built hybrid decoders like the reference', () => {
  it.each(CASES)('%s', async (name, options) => {
    const dir = resolve(root, name.replace(/[^a-z0-9_]+/gi, '-'));
    await writeSeededModel(dir, options);
    await buildQwenGraph(dir);
    const model = await AutoModelForCausalLM.from_pretrained(dir);
    try {
      const prompt = [17, 4, 58, 9, 33];
      // A tokenizer always gives the mask; the Qwen2-VL prepare_inputs_for_generation Qwen3.5 inherits never makes one.
      const output = (await model.generate({ input_ids: ids([prompt]), attention_mask: ids([prompt.map(() => 1)]), max_new_tokens: NEW_TOKENS, do_sample: false })) as Tensor;
      const generated = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
      const reference = await referenceGreedyGenerate(dir, prompt, { maxNewTokens: NEW_TOKENS });
      expect(generated).toEqual(reference);
      expect(new Set(reference).size).toBeGreaterThan(2); // a constant stream would prove little
    } finally {
      await model.dispose();
    }
  });

  it('qwen3_5 wrapper: a left-padded batch of two prompts generates what each prompt generates alone', async () => {
    const dir = resolve(root, 'batch-qwen3_5');
    await writeSeededModel(dir, { family: 'qwen3_5', dtype: 'bf16', tied: false, seed: 55 });
    await buildQwenGraph(dir);
    const model = await AutoModelForCausalLM.from_pretrained(dir);
    try {
      const long = [12, 40, 7, 81, 3, 22];
      const short = [55, 19, 8];
      const output = (await model.generate({
        input_ids: ids([long, [0, 0, 0, ...short]]),
        attention_mask: ids([long.map(() => 1), [0, 0, 0, 1, 1, 1]]),
        max_new_tokens: NEW_TOKENS,
        do_sample: false,
      })) as Tensor;
      const flat = Array.from(output.data as BigInt64Array, Number);
      const width = output.dims[1];
      const rows = [flat.slice(long.length, width), flat.slice(width + long.length)];
      expect(rows[0]).toEqual(await referenceGreedyGenerate(dir, long, { maxNewTokens: NEW_TOKENS }));
      expect(rows[1]).toEqual(await referenceGreedyGenerate(dir, short, { maxNewTokens: NEW_TOKENS }));
    } finally {
      await model.dispose();
    }
  });
});
