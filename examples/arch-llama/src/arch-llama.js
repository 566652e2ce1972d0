// @ts-check
/**
 * The plugin: `apply` only taps. Recognition and conversion are keyed by config.json `architectures[0]`
 * (LlamaForCausalLM), and by model_type "llama" for configs without `architectures` (the kernel's fallback key).
 * The converter is imported on first use, so loading the plugin costs nothing until a Llama model is imported.
 */
import { ModelImportError } from 'model-import';
import { ARCHITECTURE, MODEL_TYPE, NAME } from './names.js';
import { DEFAULT_ROPE_TYPES } from './read-llama-config.js';
import { recognizeLlama } from './recognize-llama.js';
import { checkPlanFiles } from './check-plan-files.js';

/** @import { ModelImportPlugin } from 'model-import' */

/**
 * Options of the factory; a config passes them as `['model-import-arch-llama', { ropeTypes: [...] }]`.
 * @typedef {object} ArchLlamaOptions
 * @property {readonly string[]} [ropeTypes] rope_scaling / rope_parameters types accepted (default "default" and "llama3")
 */

/**
 * @param {ArchLlamaOptions} [options]
 * @returns {ModelImportPlugin}
 */
export function archLlama(options = {}) {
  checkOptions(options);
  return {
    name: NAME,
    kind: 'architecture',
    claims: [ARCHITECTURE],
    apply({ hooks }) {
      for (const key of [ARCHITECTURE, MODEL_TYPE]) {
        hooks.recognize.for(key).tap(NAME, (config, context) => recognizeLlama(key, config, context, options));
        hooks.convert.for(key).tapPromise(NAME, async (job, context) => {
          if (job.plan.claim.adapter !== NAME) return undefined; // another adapter claimed this key first
          const { convertLlama } = await import('./convert-llama.js');
          return convertLlama(job, context, options);
        });
      }
      hooks.authorize.tap(NAME, (plan, context) => checkPlanFiles(plan, context));
    },
  };
}

/**
 * Options come from a user's config file: wrong ones are a config error, said when the plugin loads.
 * @param {unknown} options
 */
function checkOptions(options) {
  const bad = (/** @type {string} */ why) => {
    throw new ModelImportError('CONFIG_INVALID', `${NAME}: ${why}`, {
      hint: `Fix the options of ${NAME} in your model-import config (see its README).`,
    });
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return bad('options must be an object');
  const { ropeTypes, ...rest } = /** @type {Record<string, unknown>} */ (options);
  const unknown = Object.keys(rest);
  if (unknown.length > 0) bad(`unknown option ${JSON.stringify(unknown[0])} (known: ropeTypes)`);
  if (ropeTypes !== undefined && !(Array.isArray(ropeTypes) && ropeTypes.every((t) => typeof t === 'string'))) {
    bad(`ropeTypes must be a list of rope type names, e.g. ${JSON.stringify(DEFAULT_ROPE_TYPES)}`);
  }
}
