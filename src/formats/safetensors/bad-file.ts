import path from 'node:path';
import { ModelImportError, type ErrorCode } from '../../kernel/errors.js';

const DEFAULT_HINT =
  'The file is damaged or was not written by a safetensors writer: download it again, or report it to the repository owner.';

/** One-line BAD_INPUT error that starts with the file's name, e.g. `model.safetensors: tensor "x" ...`. */
export function badSafetensors(file: string, what: string, hint = DEFAULT_HINT): ModelImportError {
  return new ModelImportError('BAD_INPUT', `${path.basename(file)}: ${what}`, { hint, details: { file } });
}

/** Error for what a caller asked the writer to write (our own conversion produced something impossible). */
export function cannotWrite(file: string, what: string, code: ErrorCode = 'CONVERSION_FAILED'): ModelImportError {
  return new ModelImportError(code, `cannot write ${path.basename(file)}: ${what}`, {
    hint: 'Nothing usable was written. This is a conversion bug or an unsupported model; run again with --debug and report it.',
    details: { file },
  });
}
