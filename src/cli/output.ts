/**
 * How a command ends: a result on stdout (text, or exactly one JSON document with --json), or an error as
 * one line plus a hint on stderr (the stack only with --debug), and the documented exit status.
 */
import { EXIT, ModelImportError, exitCodeOf, fileSystemError, isModelImportError, redactSecrets } from '../kernel/errors.js';
import { jsonSafe, terminalSafe } from '../util/terminal-text.js';

export interface OutputMode {
  json?: boolean;
  debug?: boolean;
  /** Secrets to scrub from anything printed (the token). */
  secrets?: (string | undefined)[];
}

export function printJson(document: unknown): void {
  process.stdout.write(`${jsonSafe(JSON.stringify(document, null, 2))}\n`);
}

/** Endings the user chose or asked for: printed as a plain line, not as an error (exit codes unchanged). */
const NEUTRAL_CODES = new Set<string>(['CANCELLED', 'LICENSE_DECLINED', 'INTERRUPTED', 'TERMINATED']);

export function reportError(raw: unknown, mode: OutputMode): number {
  // A file-system failure that reached here unmapped (a full, read-only or odd disk) is still the user's to fix.
  const error = fileSystemError(raw, 'write');
  const known = isModelImportError(error);
  const exitCode = exitCodeOf(error);
  const scrub = (text: string) => redactSecrets(text, mode.secrets ?? []);
  const message = scrub(known ? error.message : `Unexpected error: ${(error as Error)?.message ?? String(error)}`);
  const hint = known ? error.hint : 'This is a bug in model-import; run again with --debug and report the output.';
  if (mode.json) {
    printJson({
      ok: false,
      error: {
        code: known ? error.code : 'INTERNAL',
        message,
        hint: hint ? scrub(hint) : undefined,
        exitCode,
        plugin: known ? error.plugin : undefined,
        details: known && error.details ? JSON.parse(scrub(JSON.stringify(error.details))) : undefined,
      },
    });
  }
  // A choice the user made (cancel, decline) or Ctrl-C is not a failure: said plainly, without "error:".
  // Messages quote the hub and local files: never let their control or bidi characters reach the terminal.
  const line = terminalSafe(message, true);
  process.stderr.write(known && NEUTRAL_CODES.has(error.code) ? `${line}\n` : `error: ${line}\n`);
  if (hint) process.stderr.write(`hint: ${terminalSafe(scrub(hint), true)}\n`);
  if (mode.debug && error instanceof Error && error.stack) {
    process.stderr.write(`${scrub(error.stack)}\n`);
    let cause = (error as { cause?: unknown }).cause;
    while (cause instanceof Error) {
      process.stderr.write(`caused by: ${scrub(cause.stack ?? cause.message)}\n`);
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return exitCode;
}

export function usageError(message: string): ModelImportError {
  return new ModelImportError('USAGE', message, { hint: 'Run model-import --help for the commands and flags.' });
}

export { EXIT };
