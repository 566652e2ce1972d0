/**
 * A Qwen2.5-0.5B-shaped model for the benchmarks: the real config shapes (494,032,768 parameters, bf16, tied
 * embeddings, 290 tensors, about 988 MB) with seeded weights, streamed to disk by the adapter's seeded-model
 * writer (never the whole model in memory), plus the tiny test tokenizer. Cached in .bench/ between runs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { QWEN25_05B_CONFIG, seededTensorList, writeSeededModel, type SeededModelOptions } from '../plugins/decoder-kit/testing.js';
import { makeTinyModel } from '../test/fixtures/tiny-models.js';

export const PARAMETERS = seededTensorList(QWEN25_05B_CONFIG).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);

/** Writes the model folder (once; reused when complete) and returns its path. */
export async function makeBenchModel(dir: string): Promise<string> {
  return makeCachedSeededModel(dir, { seed: 2024, family: 'qwen2', dtype: 'bf16', tied: true, config: QWEN25_05B_CONFIG });
}

/**
 * A bench model folder written once by the kit's seeded writer (reused when `.complete` is there), with the tiny
 * test tokenizer, LICENSE and a generation_config.json beside the weights.
 */
export async function makeCachedSeededModel(dir: string, options: SeededModelOptions): Promise<string> {
  const done = path.join(dir, '.complete');
  if (await fs.stat(done).catch(() => undefined)) return dir;
  await fs.rm(dir, { recursive: true, force: true });
  await writeSeededModel(dir, options);
  const tiny = makeTinyModel({ family: 'qwen2', seed: 1 });
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'LICENSE']) {
    if (tiny[name]) await fs.writeFile(path.join(dir, name), tiny[name]);
  }
  await fs.writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: 151643 }, null, 2));
  await fs.writeFile(done, new Date().toISOString());
  return dir;
}
