// Gated DeltaNet (linear attention) reference blocks and ONNX graph pieces, for the Qwen3-Next / Qwen3.5 families.
export { causalConv1d, type ConvResult } from './causal-conv.js';
export { deltaGates, type DeltaGates } from './delta-gates.js';
export { chunkedDeltaRule, recurrentDeltaRule, type DeltaRuleInputs, type DeltaRuleResult } from './delta-rule.js';
export { gatedRmsNorm } from './gated-rms-norm.js';
export { l2Normalize, prepareQueryKey, repeatKeyHeads } from './query-key-norm.js';
export { causalConvGraph, TO_END, type CausalConvGraphInput } from './causal-conv-graph.js';
export { deltaGatesGraph, type DeltaGatesGraphInput } from './delta-gates-graph.js';
export { deltaRuleGraph, type DeltaRuleGraphInput } from './delta-rule-graph.js';
export { gatedRmsNormGraph, type GatedRmsNormGraphInput } from './gated-rms-norm-graph.js';
export { prepareQueryKeyGraph, type QueryKeyGraphInput } from './query-key-norm-graph.js';
export { bodyGraph, PendingSubgraphs, prefixLocalNames } from './subgraphs.js';
export { gatedDeltaNet, linearAttentionSizes, type GatedDeltaNetWeights, type LinearAttentionDims, type LinearAttentionState } from './gated-delta-net.js';
export { gatedDeltaNetGraph, gemmProjection, type GatedDeltaNetGraphInput, type GatedDeltaNetGraphWeights, type Projection } from './gated-delta-net-graph.js';
export { readHybridLayout, type HybridLayerType, type HybridLayout } from './read-hybrid-layout.js';
export { chunkedDeltaRuleGraph, type ChunkedDeltaRuleGraphInput } from './chunked-delta-rule-graph.js';
export { adaptiveDeltaRuleGraph } from './adaptive-delta-rule-graph.js';
