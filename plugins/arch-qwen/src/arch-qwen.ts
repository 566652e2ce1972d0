/**
 * The plugin: `apply` only taps. Recognition and conversion are keyed by config.json `architectures[0]`
 * (and by model_type for configs without `architectures`, as ArchitectureClaim.architecture allows).
 *
 * Qwen v1 (QWenLMHeadModel, remote code) is deliberately not tapped: the kernel lists every tapped recognize key
 * as supported and only asks adapters that also tap convert, so a refuse-only tap would advertise v1 as
 * supported and never run. The kernel's own error ("found architecture QWenLMHeadModel; supported: ...") is the
 * answer. Supporting v1 would mean the c_attn split and tiktoken -> tokenizer.json conversion of reference §2.4.
 */
import type { ModelImportPlugin } from '../../../src/index.js';
import { NAME } from './name.js';
import { ARCHITECTURES, MODEL_TYPES, familyFor, type QwenFamily } from './families/family-map.js';
import { recognizeQwen } from './recognize/recognize-qwen.js';
import type { ArchQwenOptions } from './options.js';

export function archQwen(options: ArchQwenOptions = {}): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'architecture',
    claims: [...ARCHITECTURES],
    apply({ hooks }) {
      for (const key of [...ARCHITECTURES, ...Object.keys(MODEL_TYPES)]) {
        const family = familyFor(key) as QwenFamily;
        hooks.recognize.for(key).tap(NAME, (config) => recognizeQwen(family, key, config, options));
        hooks.convert.for(key).tapPromise(NAME, async (job, context) => {
          if (job.plan.claim.adapter !== NAME) return undefined; // another adapter claimed this key
          const { convertQwen } = await import('./convert/convert-qwen.js');
          return convertQwen(family, job, context, options);
        });
      }
      // authorize runs only for imports (recognize also runs for verify, which never converts).
      hooks.authorize.tap(NAME, (plan) => {
        if (plan.claim.adapter === NAME) preloadConversion();
      });
    },
  };
}

/**
 * An import this adapter claimed: start compiling the conversion code (safetensors, ONNX graph builder, protobuf) now, while the weights
 * download, instead of on the conversion's critical path (~15 ms of a ~70 ms conversion when the dtype is kept).
 * A failure here is reported by the conversion's own import.
 */
function preloadConversion(): void {
  void import('./convert/convert-qwen.js').then(() => import('./onnx/index.js')).catch(() => undefined);
}
