/**
 * Qwen3ForCausalLM (model_type "qwen3"): Qwen2 minus the q/k/v biases (attention_bias on q, k, v and o), plus
 * per-head q_norm/k_norm, and head_dim 128 when absent (Qwen3Config's default, not H / nH; nH·D may differ from
 * H) — all read by the kit's typed reader with Qwen3Config's defaults. reference/qwen-family.md §2.2.
 */
import { Qwen2Family } from './qwen2-family.js';

export class Qwen3Family extends Qwen2Family {
  override readonly architecture: string = 'Qwen3ForCausalLM';
  override readonly modelType: string = 'qwen3';
  override readonly members: string = 'Qwen3 dense';
}
