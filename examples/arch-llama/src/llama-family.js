// @ts-check
/**
 * LlamaForCausalLM (model_type "llama": Llama 2, Llama 3.0, TinyLlama, SmolLM, ...) as a decoder-kit family.
 *
 * The kit's DecoderFamily already is a Llama-style decoder with transformers' LlamaConfig defaults
 * (configuration_llama.py: rope_theta 10000, rms_norm_eps 1e-6, attention_bias false, tie_word_embeddings false,
 * head_dim hidden_size / num_attention_heads): config reading, look-alike refusals, the tensor list, the
 * checkpoint check, conversion, the ONNX graph and the reference forward all come from it. What is Llama's own
 * is said here.
 */
import { DecoderFamily, refuse } from 'model-import/decoder-kit';
import { ARCHITECTURE, MODEL_TYPE } from './names.js';

/** @import { ModelConfig } from 'model-import' */

export class LlamaFamily extends DecoderFamily {
  architecture = ARCHITECTURE;
  modelType = MODEL_TYPE;
  members = 'Llama 2, Llama 3.x, TinyLlama, SmolLM';
  familyName = 'llama';
  /** Llama 3.1+ ships rope_type "llama3" (modeling_rope_utils.py `_compute_llama3_parameters`); the kit computes it. */
  ropeTypes = ['default', 'llama3'];

  /**
   * The kit's refusals, plus mlp_bias (LlamaConfig.mlp_bias puts a bias on gate/up/down, which the kit's MLP
   * block does not have).
   * @param {ModelConfig} config
   * @param {string[]} warnings
   * @override
   */
  checkVariant(config, warnings) {
    super.checkVariant(config, warnings);
    if (config.mlp_bias === true) refuse(this.architecture, 'mlp_bias is true', `${this.supported} (mlp_bias false)`);
  }
}
