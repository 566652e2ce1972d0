/**
 * model-import/validator-forward: integrity (files, sha256, strict safetensors, shard index, onnx/ weight links),
 * a checked forward pass with onnxruntime-node (shape, finite logits, KV cache, reference), a transformers.js
 * generation cross-check, and a bounded-memory mode for models whose float32 weights exceed the budget.
 */
import type { ValidationReport, ValidationSubject } from '../../src/index.js';
import type { ValidatorForwardOptions } from './src/validator-forward.js';

export { validatorForward } from './src/plugin.js';
export type { ValidatorForwardOptions } from './src/validator-forward.js';
export { VALIDATOR as NAME } from './src/name.js';
export { validatorForward as default } from './src/plugin.js';

/** Runs the validation on a subject (loads onnxruntime on first use; see src/plugin.ts). */
export async function validateModel(subject: ValidationSubject, report: ValidationReport, options: ValidatorForwardOptions = {}): Promise<void> {
  return (await import('./src/validator-forward.js')).validateModel(subject, report, options);
}
