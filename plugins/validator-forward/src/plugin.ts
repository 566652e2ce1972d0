/**
 * The plugin: `apply` only taps hooks.validate. What the tap runs (validator-forward.ts, with onnxruntime-node and
 * the ONNX reader behind it) is imported on the first validation, not when the plugin is loaded: every command
 * loads the plugins, and an import with --skip-validation, `list` or `gc` need none of it.
 */
import type { ModelImportPlugin } from '../../../src/index.js';
import { VALIDATOR } from './name.js';
import type { ValidatorForwardOptions } from './validator-forward.js';

export function validatorForward(options: ValidatorForwardOptions = {}): ModelImportPlugin {
  return {
    name: VALIDATOR,
    kind: 'validator',
    claims: ['integrity', 'forward', 'kv-cache', 'reference', 'transformers.js'],
    apply({ hooks }) {
      hooks.validate.tapPromise(VALIDATOR, async (subject, report) => (await import('./validator-forward.js')).validateModel(subject, report, options));
    },
  };
}
