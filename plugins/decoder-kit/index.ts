/**
 * model-import/decoder-kit: what every decoder-architecture plugin needs, so a new family is one file of family
 * facts (a DecoderFamily subclass) plus its tests. Plugins import it as `model-import/decoder-kit`; it imports the
 * kernel only through src/index.js. Heavy parts (the ONNX graph builder and protobuf) load on first use.
 */
// ---- the plugin and its families ------------------------------------------------------------------------
export { defineDecoderPlugin, type DecoderPluginSpec } from './src/define-decoder-plugin.js';
export type { DecoderPluginOptions } from './src/decoder-plugin-options.js';
export { DecoderFamily, LIMITS, denseMlp, ropeType, type ReadDims, type KeptPart } from './src/family/decoder-family.js';
export { coreDefault, coreSizeOptions, requireCoreSizes, requireDenseWidth, CORE_SIZES, MOE_SIZES, type CoreSizeOptions } from './src/family/core-sizes.js';
export { isSparseLayer, isLinearAttentionLayer, tensorPrefix, type DecoderDims, type MoeDims } from './src/family/decoder-dims.js';
export { fieldReader, refuse, type FieldReader } from './src/family/config-fields.js';
export { readMoeDims, moeLayerGroups, type MoeFamilyInfo } from './src/family/moe-layers.js';
export { readDecoderConfig, type DecoderConfigReading, type MoeReading } from './src/config/read-decoder-config.js';
export { FAMILY_DEFAULTS, type FamilyDefaults, type FamilyName } from './src/config/family-config-defaults.js';
export type { RopeReading } from './src/config/rope-parameters.js';
export { recognizeDecoder, DEFAULT_MAX_REFERENCE_PARAMETERS } from './src/recognize/recognize-decoder.js';
export { conversionScratchBytes, isWeightFile } from './src/recognize/conversion-scratch-bytes.js';
export { countParameters } from './src/describe/count-parameters.js';

// ---- checkpoint, inventory, conversion ------------------------------------------------------------------
export { single, elementCount, type TensorSpec, type TensorGroup } from './src/inventory/tensor-spec.js';
export { checkInventory, type CheckpointTensor, type Inventory } from './src/inventory/check-inventory.js';
export { openCheckpoint, type SourceCheckpoint, type SourceTensor } from './src/weights/source-checkpoint.js';
export { linkOrCopy, type Placement } from './src/weights/link-or-copy.js';
export { rewriteWeights, planTensors, planShards, type RewriteOptions, type RewriteResult, type PlannedTensor } from './src/weights/rewrite-weights.js';
export { sameValues } from './src/weights/same-values.js';
export { PYTORCH_INDEX_FILE } from './src/weights/formats.js';
export { convertDecoder } from './src/convert/convert-decoder.js';
export { copyGenerationConfig, copyLicense, copyTokenizer, writeConfig, TOKENIZER_FILES, LICENSE_FILES, GENERATION_CONFIG } from './src/convert/side-files.js';
export { readJsonConfig } from './src/convert/read-json-config.js';

// ---- ONNX graph (contract eager, builder lazy) ----------------------------------------------------------
export { GRAPH_PATH, EMBED_GRAPH_PATH, MERGED_GRAPH_PATH, OPSET, pastKeyValueNames, presentKeyValueNames, pastStateNames, presentStateNames } from './src/onnx/graph-contract.js';
export { defaultSessionOptions } from './src/onnx/session-options.js';
export type { BuildDecoderGraphOptions, BuildDecoderGraphResult } from './src/onnx/build-decoder-graph.js';
export { buildDecoderGraph, buildDecoderGraphForFolder } from './src/onnx/lazy-graph.js';

// ---- blocks: an ONNX piece and its TypeScript reference each (blocks.test.ts compares them) -----------------
export type { RopeSpec, RopeScaling } from './src/blocks/rope-spec.js';
export { rotaryParameters, applyRotaryReference, rotaryTablesGraph, applyRotaryGraph, type RotaryParameters } from './src/blocks/rotary.js';
export {
  rmsNormReference,
  rmsNormGraph,
  splitGatedQueryReference,
  splitGatedQueryGraph,
  outputGateReference,
  outputGateGraph,
} from './src/blocks/norm-and-gate.js';
/** The builder the graph pieces write into (type only here: the class loads protobuf; tests get it from ./testing). */
export type { GraphBuilder } from './src/onnx/graph-builder.js';

// ---- reference forward (the oracle the graph is checked against) ----------------------------------------
export {
  referenceForward,
  boundedReferenceForward,
  ReferenceModel,
  referenceGreedyGenerate,
  argmax,
  readForwardDims,
  ropeInverseFrequencies,
  positionIdsFromMask,
  ModelWeights,
  discoverWeightFiles,
  decodeFloats,
  type ReferenceOptions,
  type ReferenceCache,
  type ReferenceStep,
  type LayerCache,
  type GreedyOptions,
  type ForwardDims,
  type ForwardFamily,
  type ForwardMoe,
  type WeightLocation,
  type WeightDtype,
} from './src/reference/index.js';

// ---- linear attention (Gated DeltaNet: Qwen3-Next, Qwen3.5) ----------------------------------------------
export { readHybridLayout, type HybridLayerType, type HybridLayout } from './src/linear-attention/read-hybrid-layout.js';
export { linearAttentionSizes, type LinearAttentionDims } from './src/linear-attention/gated-delta-net.js';
