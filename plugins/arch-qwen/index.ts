/**
 * model-import/arch-qwen: recognises, checks, converts and describes the Qwen family (Qwen1.5/2/2.5, Qwen3 and
 * their MoE variants), and writes the ONNX decoder graph next to the weights.
 */
export { archQwen } from './src/arch-qwen.js';
export { NAME } from './src/name.js';
export type { ArchQwenOptions } from './src/options.js';
export { ARCHITECTURES, MODEL_TYPES, familyFor } from './src/families/family-map.js';
export type { QwenArchitecture, QwenFamily } from './src/families/family-map.js';
export type { QwenDims, MoeDims } from './src/families/qwen-dims.js';
export type { TensorSpec, TensorGroup } from './src/inventory/tensor-spec.js';
export { archQwen as default } from './src/arch-qwen.js';
