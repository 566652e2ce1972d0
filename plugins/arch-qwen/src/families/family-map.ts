/**
 * architecture name -> family, built on first use (llama.cpp's lazy name -> module map). Recognition is a sync
 * hook, so the family classes (small, shape facts only) are imported statically and instantiated lazily; the
 * heavy parts (converter, ONNX builder, reference forward) are imported dynamically when a job needs them.
 */
import { Qwen2Family } from './qwen2-family.js';
import { Qwen3Family } from './qwen3-family.js';
import { Qwen2MoeFamily } from './qwen2-moe-family.js';
import { Qwen3MoeFamily } from './qwen3-moe-family.js';

const FACTORIES = {
  Qwen2ForCausalLM: () => new Qwen2Family(),
  Qwen3ForCausalLM: () => new Qwen3Family(),
  Qwen2MoeForCausalLM: () => new Qwen2MoeFamily(),
  Qwen3MoeForCausalLM: () => new Qwen3MoeFamily(),
} satisfies Record<string, () => Qwen2Family>;

export type QwenArchitecture = keyof typeof FACTORIES;
export type QwenFamily = Qwen2Family;

/** The architectures this plugin converts (config.json `architectures[0]`). */
export const ARCHITECTURES = Object.freeze(Object.keys(FACTORIES) as QwenArchitecture[]);

/**
 * model_type -> architecture, for configs without `architectures` (the kernel then keys recognition by
 * model_type, see ArchitectureClaim.architecture).
 */
export const MODEL_TYPES: Readonly<Record<string, QwenArchitecture>> = Object.freeze({
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  qwen2_moe: 'Qwen2MoeForCausalLM',
  qwen3_moe: 'Qwen3MoeForCausalLM',
});

const cache = new Map<string, QwenFamily>();

/** The family for an architecture name or model_type key; undefined when it is not ours. */
export function familyFor(key: string): QwenFamily | undefined {
  const architecture = (Object.hasOwn(FACTORIES, key) ? key : MODEL_TYPES[key]) as QwenArchitecture | undefined;
  if (architecture === undefined || !Object.hasOwn(FACTORIES, architecture)) return undefined;
  let family = cache.get(architecture);
  if (!family) {
    family = FACTORIES[architecture]();
    cache.set(architecture, family);
  }
  return family;
}
