/**
 * model-import/arch-qwen: recognises, checks, converts and describes the Qwen family (Qwen1.5/2/2.5, Qwen3 and
 * their MoE variants), and writes the ONNX decoder graph next to the weights — four DecoderFamily classes on
 * the decoder kit (model-import/decoder-kit).
 */
export { archQwen } from './src/arch-qwen.js';
export { NAME } from './src/name.js';
export type { ArchQwenOptions } from './src/options.js';
export { ARCHITECTURES, MODEL_TYPES, FAMILIES, familyFor } from './src/families/family-map.js';
export type { QwenArchitecture, QwenFamily } from './src/families/family-map.js';
export { Qwen2Family } from './src/families/qwen2-family.js';
export { Qwen3Family } from './src/families/qwen3-family.js';
export { Qwen2MoeFamily } from './src/families/qwen2-moe-family.js';
export { Qwen3MoeFamily } from './src/families/qwen3-moe-family.js';
/** QwenDims is the kit's DecoderDims (kept for existing imports). */
export type { DecoderDims as QwenDims, MoeDims, TensorSpec, TensorGroup } from '../decoder-kit/index.js';
export { archQwen as default } from './src/arch-qwen.js';
