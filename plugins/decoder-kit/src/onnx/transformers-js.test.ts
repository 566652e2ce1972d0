/**
 * The folder must load in @huggingface/transformers with default options (onnx/model.onnx, fp32, cpu) and
 * generate what the reference greedy loop generates: this exercises the KV input declarations, the empty
 * first-step cache transformers.js builds from them, present -> past renaming and its position_ids.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel, writeRepoFiles, type TinyModelOptions } from '../../../../test/fixtures/tiny-models.js';
import type { ModelConfig } from '../../../../src/index.js';
import { referenceGreedyGenerate } from '../reference/index.js';
import { buildDecoderGraph } from './index.js';
import { qwenDims } from '../../../arch-qwen/test/family-dims.js';

let root: string;
beforeAll(async () => {
  env.allowRemoteModels = false; // no network: a missing file must fail, not download
  root = await mkdtemp(join(tmpdir(), 'arch-qwen-tjs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folderWithGraph(name: string, options: TinyModelOptions): Promise<{ dir: string; eos: number[] }> {
  const dir = resolve(root, name);
  await writeRepoFiles(dir, makeTinyModel(options));
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
  await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
  const generation = JSON.parse(await readFile(join(dir, 'generation_config.json'), 'utf8')) as { eos_token_id: number | number[] };
  return { dir, eos: ([] as number[]).concat(generation.eos_token_id) };
}

const ids = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const toRows = (t: Tensor) => {
  const [batch, length] = t.dims;
  const flat = Array.from(t.data as BigInt64Array, Number);
  return Array.from({ length: batch }, (_, b) => flat.slice(b * length, (b + 1) * length));
};
/** transformers.js stops at EOS and pads finished rows; compare up to and including the first EOS. */
const untilEos = (tokens: number[], eos: number[]) => {
  const stop = tokens.findIndex((t) => eos.includes(t));
  return stop === -1 ? tokens : tokens.slice(0, stop + 1);
};

const NEW_TOKENS = 10;

describe('transformers.js loads the folder and generates like the reference', () => {
  const cases: Array<[string, TinyModelOptions]> = [
    ['qwen2 bf16 tied', { family: 'qwen2', dtype: 'bf16', tied: true, seed: 31 }],
    ['qwen3 bf16 untied', { family: 'qwen3', dtype: 'bf16', tied: false, seed: 32 }],
    ['qwen3 f32 tied', { family: 'qwen3', dtype: 'f32', tied: true, seed: 33 }],
    ['qwen3_moe bf16', { family: 'qwen3_moe', dtype: 'bf16', seed: 34 }],
  ];

  it.each(cases)('%s: from_pretrained(absoluteDir) with default options, greedy generate()', async (name, options) => {
    const { dir, eos } = await folderWithGraph(name.replaceAll(' ', '-'), options);
    const model = await AutoModelForCausalLM.from_pretrained(dir);
    try {
      const prompt = [17, 4, 58, 9];
      const output = (await model.generate({ input_ids: ids([prompt]), max_new_tokens: NEW_TOKENS, do_sample: false })) as Tensor;
      const generated = toRows(output)[0].slice(prompt.length);
      const reference = await referenceGreedyGenerate(dir, prompt, { maxNewTokens: NEW_TOKENS, eosTokenIds: eos });
      expect(generated).toEqual(reference);
      expect(reference.length).toBeGreaterThan(1);
    } finally {
      await model.dispose();
    }
  });

  it('a left-padded batch of two prompts generates what each prompt generates alone', async () => {
    const { dir, eos } = await folderWithGraph('batch-qwen2', { family: 'qwen2', dtype: 'bf16', seed: 35 });
    const model = await AutoModelForCausalLM.from_pretrained(dir);
    try {
      const long = [12, 40, 7, 81, 3, 22];
      const short = [55, 19, 8];
      const pad = 0;
      const output = (await model.generate({
        input_ids: ids([long, [pad, pad, pad, ...short]]),
        attention_mask: ids([long.map(() => 1), [0, 0, 0, 1, 1, 1]]),
        max_new_tokens: NEW_TOKENS,
        do_sample: false,
      })) as Tensor;
      const rows = toRows(output).map((row) => row.slice(long.length));
      const aloneLong = await referenceGreedyGenerate(dir, long, { maxNewTokens: NEW_TOKENS, eosTokenIds: eos });
      const aloneShort = await referenceGreedyGenerate(dir, short, { maxNewTokens: NEW_TOKENS, eosTokenIds: eos });
      expect(untilEos(rows[0], eos)).toEqual(aloneLong);
      expect(untilEos(rows[1], eos)).toEqual(aloneShort);
    } finally {
      await model.dispose();
    }
  });
});
