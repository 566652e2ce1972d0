/**
 * model-import/decoder-kit/testing: helpers for adapters' tests and benches — seeded tiny checkpoints with
 * known values, and one call of a decoder graph through onnxruntime with a KV cache. Not for production paths.
 */
export {
  writeSeededModel,
  seededTensorList,
  QWEN25_05B_CONFIG,
  type SeededModelOptions,
  type SeededFamily,
  type SeededDtype,
} from './src/testing/write-seeded-model.js';
export { runDecoder, emptyCache, maxAbsDiff, logitsRow, type KvShape, type DecoderStep, type DecoderStepResult } from './src/testing/run-decoder.js';
export { TINY_HYBRID, type HybridSeededFamily } from './src/testing/seeded-hybrid.js';
/** The ONNX graph builder the kit's pieces write into, for tests that run one block through onnxruntime. */
export { GraphBuilder, DataType } from './src/onnx/graph-builder.js';
