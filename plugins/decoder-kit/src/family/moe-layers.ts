/**
 * What MoE families share (Qwen2-MoE, Qwen3-MoE and alike): reading the routing fields and listing a sparse layer's tensors, in both
 * the per-expert layout (checkpoints as released) and the fused 3-D layout transformers v5 re-saves
 * (reference/qwen-family.md §2.3).
 */
import type { FieldReader } from './config-fields.js';
import { refuse } from './config-fields.js';
import { isSparseLayer, type MoeDims, type DecoderDims } from './decoder-dims.js';
import { LIMITS, denseMlp } from './decoder-family.js';
import { single, type TensorGroup, type TensorSpec } from '../inventory/tensor-spec.js';

export interface MoeFamilyInfo {
  architecture: string;
  supported: string;
  /** qwen2_moe has a shared expert with a sigmoid gate; qwen3_moe has none. */
  sharedExpert: boolean;
}

export function readMoeDims(r: FieldReader, dims: DecoderDims, family: MoeFamilyInfo): MoeDims {
  const experts = r.int('num_experts', LIMITS.experts);
  const topK = r.int('num_experts_per_tok', LIMITS.experts);
  if (topK > experts) {
    refuse(family.architecture, `num_experts_per_tok ${topK} exceeds num_experts ${experts}`, family.supported);
  }
  const moe: MoeDims = {
    experts,
    topK,
    moeIntermediate: r.int('moe_intermediate_size', LIMITS.intermediate),
    sharedIntermediate: family.sharedExpert ? r.int('shared_expert_intermediate_size', LIMITS.intermediate) : 0,
    decoderSparseStep: r.optionalInt('decoder_sparse_step', LIMITS.layers, 1),
    mlpOnlyLayers: r.optionalIndexList('mlp_only_layers', dims.layers),
    normTopkProb: r.optionalBool('norm_topk_prob', false),
  };
  dims.moe = moe;
  const hasDense = Array.from({ length: dims.layers }, (_, i) => i).some((i) => !isSparseLayer(dims, i));
  if (hasDense && dims.intermediate === 0) {
    refuse(family.architecture, 'config.json has no intermediate_size but some layers are dense (mlp_only_layers / decoder_sparse_step)', family.supported);
  }
  return moe;
}

export function moeLayerGroups(layer: number, p: string, d: DecoderDims, sharedExpert: boolean): TensorGroup[] {
  if (!isSparseLayer(d, layer)) return denseMlp(`${p}.mlp`, d.hidden, d.intermediate).map(single);
  const moe = d.moe!;
  const { experts: E, moeIntermediate: Im, sharedIntermediate: Is } = moe;
  const perExpert: TensorSpec[] = [];
  for (let e = 0; e < E; e++) perExpert.push(...denseMlp(`${p}.mlp.experts.${e}`, d.hidden, Im));
  const fused: TensorSpec[] = [
    { name: `${p}.mlp.experts.gate_up_proj`, shape: [E, 2 * Im, d.hidden] },
    { name: `${p}.mlp.experts.down_proj`, shape: [E, d.hidden, Im] },
  ];
  const groups: TensorGroup[] = [
    single({ name: `${p}.mlp.gate.weight`, shape: [E, d.hidden] }),
    { what: `layer ${layer} experts`, layouts: [perExpert, fused] },
  ];
  if (sharedExpert) {
    groups.push(...denseMlp(`${p}.mlp.shared_expert`, d.hidden, Is).map(single));
    groups.push(single({ name: `${p}.mlp.shared_expert_gate.weight`, shape: [1, d.hidden] }));
  }
  return groups;
}
