/**
 * Our own safetensors reader and writer. The npm package named `safetensors` (0.0.1) is a 2 KB browser toy: it
 * cannot read ordinary Hugging Face files, validates nothing and has no writer, so it is not used.
 * Reference: ../shared/reference/qwen-family.md §6.
 */
export * from './dtypes.js';
export { MAX_HEADER_LENGTH, readSafetensorsHeader, parseHeaderLength, parseSafetensorsHeader } from './read-header.js';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './read-header.js';
export { DEFAULT_CHUNK_BYTES, SafetensorsReader, readTensor, readTensorChunks } from './reader.js';
export type { ChunkOptions, TensorChunk } from './reader.js';
export { BufferRing } from './buffer-ring.js';
export { planSafetensors } from './plan.js';
export type { SafetensorsPlan, TensorSpec } from './plan.js';
export { writeSafetensors } from './writer.js';
export type { TensorSource, TensorToWrite, WriteOptions, WrittenSafetensors } from './writer.js';
export { encodeSafetensors } from './encode.js';
export * from './index-file.js';
export { bf16BitsToF32, bf16ToF32, f32ToBf16, f32ToBf16Bits } from './bf16.js';
export { F16_MAX, bf16ToF16, checkedF32ToF16, f16BitsToF32, f16ToF32, f32ToF16, f32ToF16Bits } from './f16.js';
export { convertFloatBytes, convertFloatChunks, convertedByteLength, isFloatDtype } from './convert.js';
export type { FloatDtype } from './convert.js';
export { findDuplicateKey } from './find-duplicate-key.js';
export { F8_E4M3_VALUES, f8e4m3ToF32 } from './f8-e4m3.js';
export { checkFp8Layout, dequantizeFp8Rows } from './dequantize-fp8-blocks.js';
export type { Fp8BlockLayout } from './dequantize-fp8-blocks.js';
