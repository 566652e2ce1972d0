/**
 * model-import/validator-forward: integrity (files, sha256, strict safetensors, shard index, onnx/ weight links),
 * a checked forward pass with onnxruntime-node (shape, finite logits, KV cache, reference), a transformers.js
 * generation cross-check, and a bounded-memory mode for models whose float32 weights exceed the budget.
 */
export { validatorForward, validateModel } from './src/validator-forward.js';
export type { ValidatorForwardOptions } from './src/validator-forward.js';
export { VALIDATOR as NAME } from './src/name.js';
export { validatorForward as default } from './src/validator-forward.js';
