/**
 * Qwen2MoeForCausalLM (model_type "qwen2_moe": Qwen1.5-MoE, Qwen2-MoE): Qwen2 attention (q/k/v bias when
 * qkv_bias) and sparse layers with routed experts plus a gated shared expert. reference §2.3. The routing
 * numbers come from the kit's typed reader with Qwen2MoeConfig's defaults.
 */
import { Qwen2Family } from './qwen2-family.js';
import { moeLayerGroups, type DecoderDims, type TensorGroup } from '../../../decoder-kit/index.js';

export class Qwen2MoeFamily extends Qwen2Family {
  override readonly architecture: string = 'Qwen2MoeForCausalLM';
  override readonly modelType: string = 'qwen2_moe';
  override readonly members: string = 'Qwen1.5-MoE, Qwen2-MoE';

  protected override mlpGroups(layer: number, p: string, d: DecoderDims): TensorGroup[] {
    return moeLayerGroups(layer, p, d, true);
  }
}
