/**
 * The questions the import may ask. Every question names the flag that answers it, so that without a
 * terminal the error can say which flag to pass instead of waiting forever.
 */
import { ModelImportError } from './errors.js';

export interface Choice<T extends string> {
  value: T;
  label: string;
}

export interface Prompter {
  readonly interactive: boolean;
  confirm(question: { message: string; flag: string; default?: boolean }): Promise<boolean>;
  /** Hidden input (a token). */
  secret(question: { message: string; flag: string }): Promise<string>;
  choose<T extends string>(question: { message: string; flag: string; choices: Choice<T>[] }): Promise<T>;
  text(question: { message: string; flag: string; default?: string; validate?: (value: string) => string | true }): Promise<string>;
}

export function notInteractive(flag: string, what: string): ModelImportError {
  return new ModelImportError('NOT_INTERACTIVE', `${what}, but stdin is not a terminal, so nobody can answer.`, {
    hint: `Pass ${flag} to answer it from the command line.`,
    details: { flag },
  });
}

/** The prompter used without a terminal (CI, pipes, --json scripts): every question is an error naming its flag. */
export class NonInteractivePrompter implements Prompter {
  readonly interactive = false;
  async confirm(question: { message: string; flag: string }): Promise<boolean> {
    throw notInteractive(question.flag, `Question "${question.message}"`);
  }
  async secret(question: { message: string; flag: string }): Promise<string> {
    throw notInteractive(question.flag, `Question "${question.message}"`);
  }
  async choose<T extends string>(question: { message: string; flag: string }): Promise<T> {
    throw notInteractive(question.flag, `Question "${question.message}"`);
  }
  async text(question: { message: string; flag: string }): Promise<string> {
    throw notInteractive(question.flag, `Question "${question.message}"`);
  }
}
