/**
 * Qwen v1 (QWenLMHeadModel, model_type "qwen") is tapped only to refuse, with a better message than the generic
 * "unsupported architecture": its modelling code lives in the repo (trust_remote_code), its tokenizer is a
 * tiktoken file with no tokenizer.json, and transformers.js has no "qwen" model type, so a converted folder would
 * not load where the user wants it. The Qwen2 remapping in reference §2.4 is known but unimplemented.
 */
import { ModelImportError, type ModelConfig } from '../../../../src/index.js';

export const QWEN_V1_ARCHITECTURE = 'QWenLMHeadModel';

export function refuseQwenV1(config: ModelConfig): never {
  const what = config.model_type === 'qwen' ? 'Qwen v1 (model_type "qwen")' : `${QWEN_V1_ARCHITECTURE} (model_type ${JSON.stringify(config.model_type)})`;
  throw new ModelImportError(
    'UNSUPPORTED_VARIANT',
    `${QWEN_V1_ARCHITECTURE}: ${what} runs remote code (auto_map, trust_remote_code) and ships a tiktoken tokenizer; supported: Qwen2ForCausalLM (Qwen1.5/2/2.5), Qwen3ForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM.`,
    { hint: 'Import the Qwen1.5 (or later) release of the same size instead, e.g. Qwen/Qwen1.5-1.8B for Qwen/Qwen-1_8B.' },
  );
}
