/**
 * Qwen2MoeForCausalLM (model_type "qwen2_moe": Qwen1.5-MoE, Qwen2-MoE): Qwen2 attention (q/k/v bias when
 * qkv_bias) and sparse layers with routed experts plus a gated shared expert. reference §2.3.
 */
import { Qwen2Family } from './qwen2-family.js';
import { LIMITS, moeLayerGroups, readMoeDims, type DecoderDims, type FieldReader, type MoeDims, type TensorGroup } from '../../../decoder-kit/index.js';

export class Qwen2MoeFamily extends Qwen2Family {
  override readonly architecture: string = 'Qwen2MoeForCausalLM';
  override readonly modelType: string = 'qwen2_moe';
  override readonly members: string = 'Qwen1.5-MoE, Qwen2-MoE';

  protected override readAttention(r: FieldReader): Pick<DecoderDims, 'qkvBias' | 'oBias' | 'qkNorm'> {
    return { qkvBias: r.optionalBool('qkv_bias', true), oBias: false, qkNorm: false };
  }

  /** Only dense layers use intermediate_size; checked against the layer plan in readMoeDims. */
  protected override readIntermediate(r: FieldReader): number {
    return r.optionalInt('intermediate_size', LIMITS.intermediate, 0);
  }

  protected override readMoe(r: FieldReader, dims: DecoderDims): MoeDims {
    return readMoeDims(r, dims, { architecture: this.architecture, supported: this.supported, sharedExpert: true });
  }

  protected override mlpGroups(layer: number, p: string, d: DecoderDims): TensorGroup[] {
    return moeLayerGroups(layer, p, d, true);
  }
}
