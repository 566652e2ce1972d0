// Gated DeltaNet (linear attention) reference blocks and ONNX graph pieces, for the Qwen3-Next / Qwen3.5 families.
export { causalConv1d, type ConvResult } from './causal-conv.js';
export { deltaGates, type DeltaGates } from './delta-gates.js';
export { chunkedDeltaRule, recurrentDeltaRule, type DeltaRuleInputs, type DeltaRuleResult } from './delta-rule.js';
export { gatedRmsNorm } from './gated-rms-norm.js';
export { l2Normalize, prepareQueryKey, repeatKeyHeads } from './query-key-norm.js';
