// @ts-check
/** The plugin's name, used by every tap and shown in errors; by convention the npm package name. */
export const NAME = 'model-import-arch-llama';

/** config.json `architectures[0]` this adapter converts. */
export const ARCHITECTURE = 'LlamaForCausalLM';

/** config.json `model_type`: the kernel's key for a config that has no `architectures` list. */
export const MODEL_TYPE = 'llama';
