/**
 * Test support: a real converted model folder (seeded weights, the tiny byte-level tokenizer, the adapter's own
 * ONNX graph hard-linked onto the safetensors) and the claim the real Qwen adapter makes for it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHooks, type ArchitectureClaim, type ModelConfig } from '../../../src/index.js';
import { archQwen, type ArchQwenOptions } from '../../arch-qwen/index.js';
import { buildDecoderGraphForFolder } from '../../arch-qwen/src/onnx/build-decoder-graph.js';
import { writeSeededModel, type SeededModelOptions } from '../../arch-qwen/src/reference/testing/write-seeded-model.js';
import { TINY_VOCAB_SIZE, makeTinyTokenizerFiles } from '../../../test/fixtures/tiny-tokenizer.js';

export interface TinyModelOptions extends Partial<SeededModelOptions> {
  /** Write tokenizer.json and tokenizer_config.json (default true). */
  tokenizer?: boolean;
  /** Build onnx/model.onnx (default true). */
  graph?: boolean;
}

/** Writes a tiny model into a fresh temp folder and returns its path and config. */
export async function makeTinyModelDir(options: TinyModelOptions = {}): Promise<{ dir: string; config: ModelConfig }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vf-model-'));
  const config = await writeSeededModel(dir, {
    seed: options.seed ?? 7,
    family: options.family ?? 'qwen2',
    dtype: options.dtype ?? 'bf16',
    tied: options.tied ?? true,
    shards: options.shards,
    ...options,
    config: { vocab_size: TINY_VOCAB_SIZE, ...options.config },
  });
  if (options.tokenizer !== false) {
    for (const [file, bytes] of Object.entries(makeTinyTokenizerFiles())) await writeFile(path.join(dir, file), bytes);
  }
  if (options.graph !== false) await buildDecoderGraphForFolder(dir);
  return { dir, config };
}

/** The claim the Qwen adapter makes for this config, through its real recognize tap. */
export function qwenClaim(config: ModelConfig, options: ArchQwenOptions = {}): ArchitectureClaim {
  const hooks = createHooks();
  archQwen(options).apply({ hooks });
  const key = config.architectures?.[0] ?? String(config.model_type);
  const claim = hooks.recognize.for(key).call(config, undefined);
  if (!claim) throw new Error(`the Qwen adapter did not claim ${key}`);
  return claim;
}
