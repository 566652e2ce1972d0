/** Reference forward pass for Qwen2/Qwen3 (and MoE) decoders: the oracle the ONNX graph is tested against. */
export { referenceForward, boundedReferenceForward, ReferenceModel, type ReferenceOptions, type ReferenceCache, type ReferenceStep, type LayerCache } from './reference-model.js';
export { referenceGreedyGenerate, argmax, type GreedyOptions } from './greedy-generate.js';
export {
  readForwardDims,
  isSparseLayer,
  ropeInverseFrequencies,
  positionIdsFromMask,
  type ForwardDims,
  type ForwardFamily,
  type ForwardMoe,
} from './forward-dims.js';
export { forwardDimsOf } from './forward-dims-of.js';
export { ModelWeights, discoverWeightFiles, decodeFloats, type WeightLocation, type WeightDtype } from './model-weights.js';
