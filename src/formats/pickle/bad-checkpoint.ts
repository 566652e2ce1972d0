import path from 'node:path';
import { ModelImportError } from '../../kernel/errors.js';

const DEFAULT_HINT =
  'The checkpoint is damaged or not a PyTorch zip checkpoint: download it again, or use the model\'s safetensors files if it has them.';

export const REFUSED_HINT =
  'A weights file never needs to run code; this one tries to. Use a safetensors version of the model, or report the repository.';

/** One-line BAD_INPUT error starting with the checkpoint's file name. */
export function badCheckpoint(file: string, what: string, hint = DEFAULT_HINT, details: Record<string, unknown> = {}): ModelImportError {
  return new ModelImportError('BAD_INPUT', `${path.basename(file)}: ${what}`, { hint, details: { file, ...details } });
}

/** For pickles that try to reach code: `pytorch_model.bin reaches for os.system: refused, nothing executed`. */
export function refusedGlobal(file: string, module: string, name: string): ModelImportError {
  const printable = (text: string) => (/^[\x21-\x7e]{1,100}$/.test(text) ? text : JSON.stringify(text.slice(0, 100)));
  return new ModelImportError('BAD_INPUT', `${path.basename(file)} reaches for ${printable(module)}.${printable(name)}: refused, nothing executed`, {
    hint: REFUSED_HINT,
    details: { file, module, name },
  });
}
