/**
 * defineDecoderPlugin: the taps every kit-based architecture plugin needs, from a list of families.
 *
 * Each family is tapped under its architecture names and its model_type (the kernel keys recognition by
 * model_type for configs without `architectures`, see ArchitectureClaim.architecture); `claims` lists the
 * architecture names only. Recognition is a sync hook, so the families (shape facts only) are plain objects;
 * the converter, ONNX builder and reference forward are imported when a job needs them.
 */
import type { ModelImportPlugin } from '../../../src/index.js';
import type { DecoderFamily } from './family/decoder-family.js';
import type { DecoderPluginOptions } from './decoder-plugin-options.js';
import { recognizeDecoder } from './recognize/recognize-decoder.js';
import { withValidationScope } from './describe/validation-scope.js';

export interface DecoderPluginSpec {
  /** The plugin's name: every tap's name and claim.adapter (e.g. "model-import/arch-qwen"). */
  name: string;
  /** The families, each declaring its architecture(s) and model_type; a name may appear once only. */
  families: readonly DecoderFamily[];
  options?: DecoderPluginOptions;
}

export function defineDecoderPlugin(spec: DecoderPluginSpec): ModelImportPlugin {
  const { name, options = {} } = spec;
  const byKey = familyKeys(spec.families);
  return {
    name,
    kind: 'architecture',
    claims: spec.families.flatMap((f) => f.architectures),
    apply({ hooks }) {
      for (const [key, family] of byKey) {
        hooks.recognize.for(key).tap(name, (config) => recognizeDecoder(name, family, key, config, options));
        hooks.convert.for(key).tapPromise(name, async (job, context) => {
          if (job.plan.claim.adapter !== name) return undefined; // another adapter claimed this key
          const { convertDecoder } = await import('./convert/convert-decoder.js');
          return convertDecoder(family, job, context, options);
        });
      }
      // authorize runs only for imports (recognize also runs for verify, which never converts).
      hooks.authorize.tap(name, (plan) => {
        if (plan.claim.adapter === name) preloadConversion();
      });
      // Families with kept parts (vision tower, MTP head): say in the entry what was validated and what was not.
      hooks.register.tap(name, (entry, context) => (context.plan.claim.adapter === name ? withValidationScope(entry, context) : entry));
    },
  };
}

/** architecture names and model_types -> family; a key claimed twice is a programming error in the plugin. */
function familyKeys(families: readonly DecoderFamily[]): Map<string, DecoderFamily> {
  const byKey = new Map<string, DecoderFamily>();
  for (const family of families) {
    for (const key of [...family.architectures, family.modelType]) {
      if (byKey.has(key)) {
        throw new Error(`defineDecoderPlugin: ${key} is declared by two families; give each its own architecture and model_type`);
      }
      byKey.set(key, family);
    }
  }
  return byKey;
}

/**
 * An import this plugin claimed: start compiling the conversion code (safetensors, ONNX graph builder, protobuf)
 * now, while the weights download, instead of on the conversion's critical path. A failure here is reported by
 * the conversion's own import.
 */
function preloadConversion(): void {
  void import('./convert/convert-decoder.js').then(() => import('./onnx/index.js')).catch(() => undefined);
}
