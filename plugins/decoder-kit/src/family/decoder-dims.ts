/**
 * The shape facts of a decoder config after validation (DecoderFamily.readDims): every later step (inventory,
 * conversion, parameter count, the ONNX graph, the kit's reference on the validation path) works from these,
 * never from raw JSON.
 */
import type { TargetDtype } from '../../../../src/index.js';
import type { RopeSpec } from '../blocks/rope-spec.js';
import type { HybridLayout } from '../linear-attention/read-hybrid-layout.js';

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
   * the whole head. The ONNX graph and the kit's reference compute from these dims (onnx/graph-dims.ts,
   * reference/forward-dims-of.ts); validator-forward checks them against its own reading of config.json.
   *
   * Qwen3.5's MRoPE (mropeSection): transformers' Qwen3_5TextRotaryEmbedding (modeling_qwen3_5.py) gives each
   * rotary frequency its angle from one of three position rows (temporal, height, width) chosen by the
   * (interleaved) sections. For text-only input the three rows are the same positions, so every frequency sees
   * the same angle and MRoPE is exactly partial rotary over `headDim · partialRotaryFactor` dims; the sections
   * only matter for image/video tokens, which the text decoder graph never receives.
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
  /**
   * Qwen3-Next / Qwen3.5 hybrid schedule: which layers are Gated DeltaNet (`linear_attention`: linear_attn.*
   * tensors, past_conv.N / past_recurrent.N state) and which are full attention (self_attn.*, past_key_values.N),
   * plus the linear-attention sizes (linear-attention/read-hybrid-layout.ts). Absent = every layer full attention.
   */
  hybrid?: HybridLayout;
  /**
   * Prefix of the text decoder's tensors: `model` (default) gives model.embed_tokens.weight, model.layers.N.*,
   * model.norm.weight; the Qwen3.5 wrappers (Qwen3_5ForConditionalGeneration, Qwen3_5MoeForConditionalGeneration)
   * use `model.language_model`. lm_head.weight is always top level.
   */
  tensorPrefix?: string;
  /**
   * The graph takes no position_ids input and derives positions from attention_mask (cumsum − 1, the last S
   * entries). Needed for Qwen3.5 under transformers.js 4.3.1, whose text-only MRoPE position path feeds wrong
   * decode positions to a graph that declares position_ids (docs/qwen3-next-and-qwen3.5.md §6). Absent = false.
   */
  positionsFromMask?: boolean;
  /**
   * transformers.js loads this folder as image-text-to-text in text-only mode (the Qwen3.5 wrappers,
   * …ForConditionalGeneration): it wants onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx beside
   * onnx/model.onnx. Absent = false.
   */
  embedsSession?: boolean;
  /** What config.json says the weights are (torch_dtype or dtype), when it says something we know. */
  configDtype?: TargetDtype;
  moe?: MoeDims;
}

/** The text decoder's tensor prefix (see DecoderDims.tensorPrefix). */
export function tensorPrefix(dims: Pick<DecoderDims, 'tensorPrefix'>): string {
  return dims.tensorPrefix ?? 'model';
}

/** Whether layer `layer` is a Gated DeltaNet (linear-attention) layer. */
export function isLinearAttentionLayer(dims: Pick<DecoderDims, 'hybrid'>, layer: number): boolean {
  return dims.hybrid?.layerTypes[layer] === 'linear_attention';
}

/** A layer is sparse iff it is not listed in mlp_only_layers and (i+1) is a multiple of decoder_sparse_step. */
export function isSparseLayer(dims: DecoderDims, layer: number): boolean {
  const moe = dims.moe;
  if (!moe || moe.experts === 0) return false;
  return !moe.mlpOnlyLayers.includes(layer) && (layer + 1) % moe.decoderSparseStep === 0;
}
