/**
 * The shape facts of a decoder config after validation (DecoderFamily.readDims): every later step (inventory,
 * conversion, parameter count) works from these, never from raw JSON.
 */
import type { TargetDtype } from '../../../../src/index.js';
import type { RopeSpec } from '../blocks/rope-spec.js';

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
  /**
   * How the checkpoint stores the routed experts: `per-expert` (mlp.experts.E.{gate,up,down}_proj.weight, as
   * released) or `fused` (transformers 5: mlp.experts.gate_up_proj [E, 2·Im, H] and mlp.experts.down_proj
   * [E, H, Im]). A config does not say; the inventory accepts both and the graph reads either. Absent = not
   * known yet (before the checkpoint is opened).
   */
  expertsLayout?: 'per-expert' | 'fused';
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
  /**
   * The rotary embedding: theta, partial_rotary_factor, scaling (linear / dynamic / yarn / llama3 with their
   * parameters) and mrope sections, as blocks/rope-spec.ts defines them. A config reader fills it from
   * rope_parameters / rope_scaling with transformers' defaults; absent means default RoPE at `ropeTheta` over
   * the whole head. (The kit's graph and reference read the same facts from config.json on their own,
   * reference/forward-dims.ts, so that the oracle does not depend on recognition.)
   */
  rope?: RopeSpec;
  /**
   * Qwen3-Next-style attention output gate: q_proj has 2·nH·D rows (per head the query, then the gate) and the
   * attention output is multiplied by sigmoid(gate) before o_proj (blocks/norm-and-gate.ts). Absent = false.
   */
  attentionOutputGate?: boolean;
  /**
   * Zero-centred RMSNorm weights (Qwen3-Next, Qwen3.5): the scale is 1 + w, not w (blocks/norm-and-gate.ts).
   * Applies to every RMSNorm of the model (layer norms, final norm, q/k norms). Absent = false.
   */
  normZeroCentred?: boolean;
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
