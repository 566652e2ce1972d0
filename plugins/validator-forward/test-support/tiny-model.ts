/**
 * Test support: a real converted model folder (the shared tiny fixture repo: seeded weights, the tiny byte-level
 * tokenizer, generation_config.json; plus the adapter's own ONNX graph hard-linked onto the safetensors) and the
 * claim the real Qwen adapter makes for it.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHooks, type ArchitectureClaim, type ModelConfig } from '../../../src/index.js';
import { archQwen, type ArchQwenOptions } from '../../arch-qwen/index.js';
import { buildDecoderGraph } from '../../decoder-kit/index.js';
import { qwenDims } from '../../arch-qwen/test/family-dims.js';
import { makeTinyModel, writeRepoFiles, type TinyModelOptions } from '../../../test/fixtures/tiny-models.js';

export interface TinyModelDirOptions extends TinyModelOptions {
  /** Build onnx/model.onnx (default true). */
  graph?: boolean;
}

/** Writes a tiny model into a fresh temp folder and returns its path and config. */
export async function makeTinyModelDir(options: TinyModelDirOptions = {}): Promise<{ dir: string; config: ModelConfig }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vf-model-'));
  await writeRepoFiles(dir, makeTinyModel({ seed: 7, ...options }));
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
  if (options.graph !== false) await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
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
