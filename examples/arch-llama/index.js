// @ts-check
/**
 * model-import-arch-llama: an architecture adapter for Llama-family checkpoints (LlamaForCausalLM), written as a
 * third party writes one: against `model-import`'s public entry point only. List it in model-import.config.ts
 * as 'model-import-arch-llama'; the CLI calls the default export (the factory) with the entry's options.
 */
export { archLlama, archLlama as default } from './src/arch-llama.js';
export { ARCHITECTURE, MODEL_TYPE, NAME } from './src/names.js';
