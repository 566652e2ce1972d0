/**
 * Test support: the reading the converter builds the ONNX graph from (the Qwen family's readDims), for tests that
 * build a graph over a folder they wrote themselves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../../../src/index.js';
import { buildDecoderGraph, type BuildDecoderGraphOptions, type BuildDecoderGraphResult, type DecoderDims } from '../../decoder-kit/index.js';
import { familyFor, type QwenFamily } from '../index.js';

/** The family that owns this config (architectures[0], else model_type). */
export function qwenFamilyOf(config: ModelConfig): QwenFamily {
  const key = String(config.architectures?.[0] ?? config.model_type);
  const family = familyFor(key);
  if (!family) throw new Error(`no Qwen family for ${key}`);
  return family;
}

/** DecoderFamily.readDims(config).dims of the owning family. */
export function qwenDims(config: ModelConfig): DecoderDims {
  return qwenFamilyOf(config).readDims(config).dims;
}

/** Builds the folder's ONNX graph from its config.json as the converter does (through the family's readDims). */
export async function buildQwenGraph(modelDir: string, options: Omit<BuildDecoderGraphOptions, 'modelDir' | 'dims'> = {}): Promise<BuildDecoderGraphResult> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as ModelConfig;
  return buildDecoderGraph({ modelDir, dims: qwenDims(config), ...options });
}
