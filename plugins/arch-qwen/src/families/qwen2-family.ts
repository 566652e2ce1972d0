/**
 * Qwen2ForCausalLM (model_type "qwen2": Qwen1.5, Qwen2, Qwen2.5) — the base of the Qwen families.
 *
 * Everything generic lives in the decoder kit's DecoderFamily; Qwen3 and the MoE variants subclass this and
 * override only what differs (the llama.cpp `conversion/qwen.py` shape). Facts: ../shared/reference/qwen-family.md §1–§2.
 */
import { DecoderFamily, type DecoderDims, type FieldReader } from '../../../decoder-kit/index.js';

export class Qwen2Family extends DecoderFamily {
  readonly architecture: string = 'Qwen2ForCausalLM';
  readonly modelType: string = 'qwen2';
  readonly members: string = 'Qwen1.5, Qwen2, Qwen2.5';
  readonly familyName: string = 'qwen';

  /** Qwen2 always has q/k/v biases and no o_proj bias (modeling_qwen2.py). */
  protected override readAttention(_r: FieldReader): Pick<DecoderDims, 'qkvBias' | 'oBias' | 'qkNorm'> {
    return { qkvBias: true, oBias: false, qkNorm: false };
  }
}
