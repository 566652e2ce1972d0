/**
 * The Qwen families, each declaring its architecture and model_type in its own class (the one registration
 * place); the lists below are derived from them.
 */
import type { DecoderFamily } from '../../../decoder-kit/index.js';
import { Qwen2Family } from './qwen2-family.js';
import { Qwen3Family } from './qwen3-family.js';
import { Qwen2MoeFamily } from './qwen2-moe-family.js';
import { Qwen3MoeFamily } from './qwen3-moe-family.js';
import { Qwen3NextFamily } from './qwen3-next-family.js';
import { Qwen35Family, Qwen35TextFamily } from './qwen3-5-family.js';
import { Qwen35MoeFamily, Qwen35MoeTextFamily } from './qwen3-5-moe-family.js';

export type QwenFamily = DecoderFamily;
export type QwenArchitecture = 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM' | 'Qwen2MoeForCausalLM' | 'Qwen3MoeForCausalLM' |
  'Qwen3NextForCausalLM' | 'Qwen3_5ForConditionalGeneration' | 'Qwen3_5ForCausalLM' | 'Qwen3_5MoeForConditionalGeneration' |
  'Qwen3_5MoeForCausalLM';

/** One instance per family (small: shape facts only). */
export const FAMILIES: readonly QwenFamily[] = Object.freeze([
  new Qwen2Family(), new Qwen3Family(), new Qwen2MoeFamily(), new Qwen3MoeFamily(),
  new Qwen3NextFamily(), new Qwen35Family(), new Qwen35TextFamily(), new Qwen35MoeFamily(), new Qwen35MoeTextFamily(),
]);

/** The architectures this plugin converts (config.json `architectures[0]`). */
export const ARCHITECTURES = Object.freeze(FAMILIES.flatMap((f) => f.architectures) as QwenArchitecture[]);

/**
 * model_type -> architecture, for configs without `architectures` (the kernel then keys recognition by
 * model_type, see ArchitectureClaim.architecture).
 */
export const MODEL_TYPES: Readonly<Record<string, QwenArchitecture>> = Object.freeze(
  Object.fromEntries(FAMILIES.map((f) => [f.modelType, f.architecture as QwenArchitecture])),
);

/** The family for an architecture name or model_type key; undefined when it is not ours. */
export function familyFor(key: string): QwenFamily | undefined {
  return FAMILIES.find((f) => f.architectures.includes(key) || f.modelType === key);
}
