/**
 * Qwen3MoeForCausalLM (model_type "qwen3_moe"): Qwen3 attention and routed experts without a shared expert.
 * Qwen3MoeConfig has no head_dim default of 128 like Qwen3Config (hidden // heads applies) and
 * norm_topk_prob defaults to false: the kit's typed reader applies both from Qwen3MoeConfig's defaults.
 */
import { Qwen3Family } from './qwen3-family.js';
import { moeLayerGroups, type DecoderDims, type TensorGroup } from '../../../decoder-kit/index.js';

export class Qwen3MoeFamily extends Qwen3Family {
  override readonly architecture: string = 'Qwen3MoeForCausalLM';
  override readonly modelType: string = 'qwen3_moe';
  override readonly members: string = 'Qwen3-MoE';

  protected override mlpGroups(layer: number, p: string, d: DecoderDims): TensorGroup[] {
    return moeLayerGroups(layer, p, d, false);
  }
}
