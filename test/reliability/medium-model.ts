/**
 * A Qwen2 repo of a few MB (the tiny fixtures are 190 KB): big enough that a throttled download takes seconds and
 * spans several of the downloader's 1 MiB write batches, so a kill can land mid-download with bytes already on
 * disk, and small enough to validate in about a second. Weights from the adapter's seeded-model writer, tokenizer,
 * license and card from the tiny fixtures.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSeededModel } from '../../plugins/decoder-kit/testing.js';
import type { RepoFiles } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';

/** hidden 256, vocab 8192, 2 layers, bf16, tied: about 6.5 MB of weights. */
export async function makeMediumModel(seed: number, shards = 1): Promise<RepoFiles> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-medium-'));
  try {
    await writeSeededModel(dir, {
      seed,
      family: 'qwen2',
      dtype: 'bf16',
      tied: true,
      shards,
      config: { hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 8192 },
    });
    const files: RepoFiles = {};
    const tiny = makeTinyModel({ family: 'qwen2', seed });
    for (const name of ['.gitattributes', 'README.md', 'LICENSE', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']) {
      if (tiny[name]) files[name] = tiny[name];
    }
    for (const name of await fs.readdir(dir)) files[name] = new Uint8Array(await fs.readFile(path.join(dir, name)));
    return files;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
