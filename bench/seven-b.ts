/**
 * The 7B-shaped benchmark row: a Qwen2.5-7B-shaped model (Qwen/Qwen2.5-7B-Instruct's config.json shapes,
 * 7,615,616,512 parameters, bf16, untied, four shards, about 15.2 GB) with seeded weights generated locally by the
 * kit's seeded-model writer (never downloaded, never whole in memory), imported through the fake hub under
 * `--max-memory 4GB`: wall time, the validation stage, and peak RSS. Cached in .bench/ between runs (it takes
 * minutes to write); BENCH_ONLY=7b runs only this row, BENCH_SKIP_7B=1 leaves it out.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { seededTensorList, writeSeededModel } from '../plugins/decoder-kit/testing.js';
import type { ModelConfig } from '../src/index.js';
import { makeTinyModel } from '../test/fixtures/tiny-models.js';

export const REPO_7B = 'bench/qwen2.5-7b-shaped';
export const SHARDS_7B = 4;

/** Qwen/Qwen2.5-7B-Instruct config.json (the fields that shape the model). */
export const QWEN25_7B_CONFIG: ModelConfig = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 3584,
  intermediate_size: 18944,
  num_hidden_layers: 28,
  num_attention_heads: 28,
  num_key_value_heads: 4,
  vocab_size: 152064,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 32768,
  max_window_layers: 28,
  sliding_window: 131072,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
};

export const PARAMETERS_7B = seededTensorList(QWEN25_7B_CONFIG).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);

/** Writes the model folder (once; reused when complete) and returns its path. */
export async function makeSevenBModel(dir: string): Promise<string> {
  const done = path.join(dir, '.complete');
  if (await fs.stat(done).catch(() => undefined)) return dir;
  await fs.rm(dir, { recursive: true, force: true });
  await writeSeededModel(dir, { seed: 7007, family: 'qwen2', dtype: 'bf16', tied: false, shards: SHARDS_7B, config: QWEN25_7B_CONFIG });
  const tiny = makeTinyModel({ family: 'qwen2', seed: 1 });
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'LICENSE']) {
    if (tiny[name]) await fs.writeFile(path.join(dir, name), tiny[name]);
  }
  await fs.writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: 151645 }, null, 2));
  await fs.writeFile(done, new Date().toISOString());
  return dir;
}

/** The weight shards (large, served lazily from disk) and the small files (in memory) of the model folder. */
export async function sevenBRepoFiles(dir: string): Promise<{ small: Record<string, Uint8Array>; shards: string[] }> {
  const small: Record<string, Uint8Array> = {};
  const shards: string[] = [];
  for (const name of await fs.readdir(dir)) {
    if (name.startsWith('.')) continue;
    if (name.endsWith('.safetensors')) shards.push(name);
    else small[name] = await fs.readFile(path.join(dir, name));
  }
  return { small, shards: shards.sort() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname) && process.argv[2] === '--make') {
  // `tsx bench/seven-b.ts --make <dir>`: writes the model ahead of a bench run.
  const started = Date.now();
  makeSevenBModel(path.resolve(process.argv[3] ?? '.bench/qwen2.5-7b-shaped')).then((dir) => {
    process.stderr.write(`${dir}: ${PARAMETERS_7B.toLocaleString('en-US')} parameters in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }, (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
