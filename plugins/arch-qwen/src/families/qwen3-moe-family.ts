/** Qwen3MoeForCausalLM (model_type "qwen3_moe"): Qwen3 attention and routed experts without a shared expert. */
import { Qwen3Family } from './qwen3-family.js';
import type { ModelConfig } from '../../../../src/index.js';
import { LIMITS, moeLayerGroups, readMoeDims, type DecoderDims, type FieldReader, type MoeDims, type TensorGroup } from '../../../decoder-kit/index.js';

export class Qwen3MoeFamily extends Qwen3Family {
  override readonly architecture: string = 'Qwen3MoeForCausalLM';
  override readonly modelType: string = 'qwen3_moe';
  override readonly members: string = 'Qwen3-MoE';

  /**
   * Qwen3MoeConfig (transformers/models/qwen3_moe/configuration_qwen3_moe.py) has no head_dim default of 128 like
   * Qwen3Config: a config without head_dim runs with hidden_size // num_attention_heads (modeling's getattr).
   */
  protected override readHeadDim(config: ModelConfig, r: FieldReader, hidden: number, heads: number): number {
    // null makes Qwen3Family defer to the base reading (hidden / heads, refused when it does not divide).
    return super.readHeadDim(config.head_dim === undefined ? { ...config, head_dim: null } : config, r, hidden, heads);
  }

  protected override readIntermediate(r: FieldReader): number {
    return r.optionalInt('intermediate_size', LIMITS.intermediate, 0);
  }

  protected override readMoe(r: FieldReader, dims: DecoderDims): MoeDims {
    return readMoeDims(r, dims, { architecture: this.architecture, supported: this.supported, sharedExpert: false });
  }

  protected override mlpGroups(layer: number, p: string, d: DecoderDims): TensorGroup[] {
    return moeLayerGroups(layer, p, d, false);
  }
}
