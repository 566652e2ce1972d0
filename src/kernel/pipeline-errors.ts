/** The errors the import pipeline itself ends with (interrupted, no such model, validation failed). */
import path from 'node:path';
import { ModelImportError, isModelImportError } from './errors.js';
import type { ValidationReport } from './validation-report.js';

export function interrupted(signal: AbortSignal, cause: unknown): ModelImportError {
  if (isModelImportError(cause) && (cause.code === 'INTERRUPTED' || cause.code === 'TERMINATED')) return cause;
  const reason = signal.reason as { code?: string } | undefined;
  return interruptionError(reason?.code === 'TERMINATED' ? 'TERMINATED' : 'INTERRUPTED', cause);
}

/** The error an import ends with when Ctrl-C (INTERRUPTED) or SIGTERM (TERMINATED) stops it. */
export function interruptionError(code: 'INTERRUPTED' | 'TERMINATED', cause?: unknown): ModelImportError {
  return new ModelImportError(code, `Import ${code === 'TERMINATED' ? 'terminated' : 'interrupted'}; nothing was registered.`, {
    hint: 'Run the same command again: verified downloaded bytes are kept and the download resumes.',
    cause,
  });
}

export function modelNotFound(name: string, modelsDir: string): ModelImportError {
  return new ModelImportError('MODEL_NOT_FOUND', `No model named "${name}" in ${path.join(modelsDir, 'registry.json')}.`, {
    hint: 'Run `model-import list` to see the registered models.',
  });
}

export function assertPassed(report: ValidationReport): void {
  if (report.passed) return;
  const lines = report.failures.map((f) => `${f.check}: ${f.message ?? 'failed'}`);
  throw new ModelImportError('VALIDATION_FAILED', `Validation failed, nothing registered: ${lines.join('; ')}.`, {
    hint: 'See the validation table above; run again with --debug for details, or report the model to the adapter author.',
    details: { findings: report.findings },
  });
}

