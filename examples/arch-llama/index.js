// @ts-check
/**
 * model-import-arch-llama: an architecture adapter for Llama-family checkpoints (LlamaForCausalLM), written as a
 * third party writes one: against `model-import` and `model-import/decoder-kit` only. List it in
 * model-import.config.ts as 'model-import-arch-llama'; the CLI calls the default export (the factory).
 */
export { archLlama, archLlama as default } from './src/arch-llama.js';
export { LlamaFamily } from './src/llama-family.js';
export { ARCHITECTURE, MODEL_TYPE, NAME } from './src/names.js';
