import { ModelImportError } from '../../../../src/index.js';

/** A config key this project does not compute correctly: exit 3, naming the key and what was found. */
export function refuseConfig(architecture: string, key: string, problem: string, hint?: string): never {
  throw new ModelImportError('UNSUPPORTED_VARIANT', `${architecture}: config.json ${key} ${problem}.`, {
    hint: hint ?? 'This key changes what the model computes and is not supported; pick an unmodified release of the model or a plugin that supports it.',
    details: { architecture, key },
  });
}
