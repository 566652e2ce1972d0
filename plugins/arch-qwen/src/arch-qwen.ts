/**
 * The plugin: `apply` only taps. Recognition and conversion are keyed by config.json `architectures[0]`
 * (and by model_type for configs without `architectures`, as ArchitectureClaim.architecture allows).
 */
import type { ModelImportPlugin } from '../../../src/index.js';
import { NAME } from './name.js';
import { ARCHITECTURES, MODEL_TYPES, familyFor, type QwenFamily } from './families/family-map.js';
import { QWEN_V1_ARCHITECTURE, refuseQwenV1 } from './families/qwen-v1.js';
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
      // Tapped only to refuse with a useful message (see families/qwen-v1.ts); not listed in `claims`.
      hooks.recognize.for(QWEN_V1_ARCHITECTURE).tap(NAME, (config) => refuseQwenV1(config));
    },
  };
}
