/**
 * Qwen2ForCausalLM (model_type "qwen2": Qwen1.5, Qwen2, Qwen2.5) — the base of the Qwen families.
 *
 * Everything generic lives in the decoder kit's DecoderFamily, and the config numbers (fixed q/k/v biases, no
 * o_proj bias, defaults) come from its typed reader with Qwen2Config's defaults (decoder-kit
 * config/family-config-defaults.ts). Qwen3 and the MoE variants subclass this and override only what differs
 * (the llama.cpp `conversion/qwen.py` shape). Facts: ../shared/reference/qwen-family.md §1–§2.
 */
import { DecoderFamily } from '../../../decoder-kit/index.js';

export class Qwen2Family extends DecoderFamily {
  readonly architecture: string = 'Qwen2ForCausalLM';
  readonly modelType: string = 'qwen2';
  readonly members: string = 'Qwen1.5, Qwen2, Qwen2.5';
  readonly familyName: string = 'qwen';
  /**
   * Qwen documents adding rope_scaling {type "yarn", factor 4, original_max_position_embeddings 32768} to
   * Qwen2.5 and Qwen3 configs for long context; modeling_qwen2.py / modeling_qwen3.py take every
   * ROPE_INIT_FUNCTIONS type. The kit's graph computes these (dynamic exactly up to max_position_embeddings).
   */
  override readonly ropeTypes: readonly string[] = ['default', 'linear', 'dynamic', 'yarn'];
}
