/**
 * Qwen3_5MoeForConditionalGeneration (model_type "qwen3_5_moe": Qwen3.5/3.6 MoE, e.g. 35B-A3B) and the text-only
 * Qwen3_5MoeForCausalLM ("qwen3_5_moe_text"): the Qwen3.5 wrapper around a text model whose every layer is a
 * sparse MoE block with a gated shared expert (Qwen3_5MoeDecoderLayer), experts usually fused 3-D
 * (mlp.experts.gate_up_proj / down_proj).
 */
import type { ModelConfig } from '../../../../src/index.js';
import { Qwen35Family } from './qwen3-5-family.js';
import type { HybridTextDefaults } from './hybrid-text-config.js';

// transformers/models/qwen3_5_moe/configuration_qwen3_5_moe.py (Qwen3_5MoeTextConfig): vocab 248320, hidden
// 2048, 40 layers, 16 heads, 2 KV heads, head_dim 256, 256 experts, top-8, expert width 512, shared expert 512,
// partial_rotary_factor 0.25; intermediate_size, decoder_sparse_step, norm_topk_prob and mlp_only_layers are
// removed from the class (every layer sparse), and the router (Qwen3VLMoeTextTopKRouter) always renormalises
// the top-k weights. mrope_section [11, 11, 10] as for the dense text model.
const QWEN3_5_MOE_TEXT: HybridTextDefaults = {
  vocab_size: 248320, hidden_size: 2048, intermediate_size: 0, num_hidden_layers: 40, num_attention_heads: 16,
  num_key_value_heads: 2, head_dim: 256, rope_theta: 10000, partial_rotary_factor: 0.25, mrope_section: [11, 11, 10],
  moe: { num_experts: 256, num_experts_per_tok: 8, moe_intermediate_size: 512, shared_expert_intermediate_size: 512, configurableLayout: false, norm_topk_prob: true },
};

/** Keys Qwen3_5MoeTextConfig removed: a file may still carry them, transformers computes without them. */
const REMOVED = ['intermediate_size', 'decoder_sparse_step', 'norm_topk_prob', 'mlp_only_layers'];

export class Qwen35MoeFamily extends Qwen35Family {
  override readonly architecture: string = 'Qwen3_5MoeForConditionalGeneration';
  override readonly modelType: string = 'qwen3_5_moe';
  override readonly members: string = 'Qwen3.5, Qwen3.6 MoE';
  protected override readonly textModelType: string = 'qwen3_5_moe_text';
  protected override readonly defaults: HybridTextDefaults = QWEN3_5_MOE_TEXT;

  protected override checkHybridVariant(config: ModelConfig, text: ModelConfig, where: string, warnings: string[]): void {
    super.checkHybridVariant(config, text, where, warnings);
    const present = REMOVED.filter((k) => text[k] !== undefined && text[k] !== null);
    if (present.length > 0) {
      warnings.push(`${where}${present.join(', ')} ignored: Qwen3.5-MoE has no such settings (every layer is sparse and the router renormalises its top-k weights)`);
    }
  }
}

/** Qwen3_5MoeForCausalLM (model_type "qwen3_5_moe_text"): the MoE text model on its own, tensors under model.*. */
export class Qwen35MoeTextFamily extends Qwen35MoeFamily {
  override readonly architecture: string = 'Qwen3_5MoeForCausalLM';
  override readonly modelType: string = 'qwen3_5_moe_text';
  override readonly members: string = 'Qwen3.5 MoE text-only re-saves';
  protected override readonly prefix: string = 'model';
  protected override readonly wrapped: boolean = false;
  /**
   * transformers.js 4.3.1 names the cache of qwen3_5_moe_text but maps only qwen3_5_moe (not qwen3_5_moe_text) to
   * a causal-LM class (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES): from_pretrained throws "Unsupported model type".
   */
  override readonly transformersJsUnsupported: string = 'transformers.js 4.3.1 has no causal-LM class for model_type qwen3_5_moe_text (only for the qwen3_5_moe wrapper)';
}
