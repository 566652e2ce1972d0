/**
 * The family's DecoderDims (DecoderFamily.readDims, the reading the weights were converted and the ONNX graph
 * was built from) as the ForwardDims the reference computes with. The validation path uses this, so the graph
 * and the kit's reference never compute from two readings of one config.json that could disagree on a default;
 * whether that one reading is right is validator-forward's own check (its independent reading compared with
 * ValidationSupport.configFacts). readForwardDims (the reference's own reader) stays for tests and scripts that
 * hand the reference a folder without a family.
 */
import type { DecoderDims } from '../family/decoder-dims.js';
import type { ForwardDims, ForwardFamily } from './forward-dims.js';

/** model_type -> the reference's family name (its text-only re-saves compute as their wrappers). */
const FORWARD_FAMILY: Record<string, ForwardFamily> = {
  qwen2: 'qwen2', qwen3: 'qwen3', qwen2_moe: 'qwen2_moe', qwen3_moe: 'qwen3_moe', llama: 'llama',
  qwen3_next: 'qwen3_next', qwen3_5: 'qwen3_5', qwen3_5_text: 'qwen3_5', qwen3_5_moe: 'qwen3_5_moe', qwen3_5_moe_text: 'qwen3_5_moe',
};

export function forwardDimsOf(dims: DecoderDims): ForwardDims {
  const { moe, hybrid } = dims;
  return {
    // A kit family of another model_type is Llama-shaped (DecoderFamily's body); the name only labels the dims.
    family: FORWARD_FAMILY[dims.modelType] ?? 'llama',
    hidden: dims.hidden,
    intermediate: dims.intermediate,
    layers: dims.layers,
    heads: dims.heads,
    kvHeads: dims.kvHeads,
    headDim: dims.headDim,
    vocab: dims.vocab,
    tied: dims.tied,
    ropeTheta: dims.ropeTheta,
    rope: dims.rope ?? { theta: dims.ropeTheta, partialRotaryFactor: 1 },
    rmsNormEps: dims.rmsNormEps,
    qkvBias: dims.qkvBias,
    oBias: dims.oBias,
    qkNorm: dims.qkNorm,
    // decoderSparseStep and mlpOnlyLayers say which layers are sparse (Qwen3.5-MoE's all-sparse is step 1, none
    // dense), so allSparse is not needed.
    ...(moe ? { moe: { experts: moe.experts, topK: moe.topK, moeIntermediate: moe.moeIntermediate, sharedIntermediate: moe.sharedIntermediate, decoderSparseStep: moe.decoderSparseStep, mlpOnlyLayers: [...moe.mlpOnlyLayers], normTopkProb: moe.normTopkProb } } : {}),
    tensorPrefix: dims.tensorPrefix ?? 'model',
    normZeroCentred: dims.normZeroCentred ?? false,
    attentionOutputGate: dims.attentionOutputGate ?? false,
    positionsFromMask: dims.positionsFromMask ?? false,
    embedsSession: dims.embedsSession ?? false,
    ...(hybrid ? { hybrid: { layerTypes: [...hybrid.layerTypes], linear: { ...hybrid.linear } } } : {}),
    // Recognition refuses what forward-dims would only note (sliding windows).
    notes: [],
  };
}
