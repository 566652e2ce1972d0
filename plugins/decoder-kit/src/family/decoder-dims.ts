/**
 * The shape facts of a decoder config after validation (DecoderFamily.readDims): every later step (inventory,
 * conversion, parameter count) works from these, never from raw JSON.
 */
import type { TargetDtype } from '../../../../src/index.js';

export interface MoeDims {
  /** E: routed experts per sparse layer. */
  experts: number;
  /** K: experts chosen per token. */
  topK: number;
  /** Im: width of one routed expert. */
  moeIntermediate: number;
  /** Is: width of the shared expert; 0 when the family has none (qwen3_moe). */
  sharedIntermediate: number;
  decoderSparseStep: number;
  mlpOnlyLayers: number[];
  normTopkProb: boolean;
}

export interface DecoderDims {
  /** config.json model_type of the family that read these dims. */
  modelType: string;
  /** H */
  hidden: number;
  /** I: dense MLP width (also the width of MoE models' dense layers). */
  intermediate: number;
  /** L */
  layers: number;
  /** nH */
  heads: number;
  /** nKV */
  kvHeads: number;
  /** D */
  headDim: number;
  /** V */
  vocab: number;
  tied: boolean;
  ropeTheta: number;
  rmsNormEps: number;
  /** q/k/v projections carry a bias. */
  qkvBias: boolean;
  /** o_proj carries a bias (Qwen3 with attention_bias). */
  oBias: boolean;
  /** Per-head RMSNorm on q and k (Qwen3). */
  qkNorm: boolean;
  /** What config.json says the weights are (torch_dtype or dtype), when it says something we know. */
  configDtype?: TargetDtype;
  moe?: MoeDims;
}

/** A layer is sparse iff it is not listed in mlp_only_layers and (i+1) is a multiple of decoder_sparse_step. */
export function isSparseLayer(dims: DecoderDims, layer: number): boolean {
  const moe = dims.moe;
  if (!moe || moe.experts === 0) return false;
  return !moe.mlpOnlyLayers.includes(layer) && (layer + 1) % moe.decoderSparseStep === 0;
}
