/**
 * The reference's own small field readers for config.json (kept apart from the families' FieldReader on purpose:
 * the oracle must not share the code it checks). Anything it cannot compute is an UNSUPPORTED_VARIANT.
 */
import { ModelImportError, type ModelConfig } from '../../../../src/index.js';

export function unsupported(message: string): never {
  throw new ModelImportError('UNSUPPORTED_VARIANT', message, {
    hint: 'The forward pass covers qwen2, qwen3, qwen2_moe, qwen3_moe, llama, qwen3_next, qwen3_5 and qwen3_5_moe.',
  });
}

export function int(config: ModelConfig, key: string, fallback?: number): number {
  const value = config[key];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    unsupported(`config.json has no ${key}`);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    unsupported(`config field ${key} is ${JSON.stringify(value)}, expected a non-negative integer`);
  }
  return value;
}

export function num(config: ModelConfig, key: string, fallback: number): number {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    unsupported(`config field ${key} is ${JSON.stringify(value)}, expected a positive number`);
  }
  return value;
}

export function bool(config: ModelConfig, key: string, fallback: boolean): boolean {
  const value = config[key];
  return typeof value === 'boolean' ? value : fallback;
}

