/**
 * Questions on a terminal, with @inquirer/prompts, drawn on stderr so that stdout stays clean for --json.
 * Used only when stdin is a terminal; otherwise the kernel's NonInteractivePrompter names the flag to pass.
 */
import { ModelImportError } from '../kernel/errors.js';
import type { Choice, Prompter } from '../kernel/prompter.js';
import { terminalSafe } from '../util/terminal-text.js';

const io = () => ({ input: process.stdin, output: process.stderr });

function cancelled(error: unknown): never {
  if ((error as Error)?.name === 'ExitPromptError' || (error as Error)?.name === 'AbortPromptError') {
    throw new ModelImportError('INTERRUPTED', 'Import interrupted at a prompt; nothing was registered.', { cause: error });
  }
  throw error;
}

export class TtyPrompter implements Prompter {
  readonly interactive = true;

  async confirm(question: { message: string; default?: boolean }): Promise<boolean> {
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message: terminalSafe(question.message), default: question.default ?? false }, io()).catch(cancelled);
  }

  async secret(question: { message: string }): Promise<string> {
    const { password } = await import('@inquirer/prompts');
    // No mask: not even asterisks, which would tell an onlooker the token's length.
    return password({ message: terminalSafe(question.message) }, io()).catch(cancelled);
  }

  async choose<T extends string>(question: { message: string; choices: Choice<T>[] }): Promise<T> {
    const { select } = await import('@inquirer/prompts');
    return select<T>({ message: terminalSafe(question.message), choices: question.choices.map((c) => ({ value: c.value, name: terminalSafe(c.label, true) })) }, io()).catch(cancelled);
  }

  async text(question: { message: string; default?: string; validate?: (value: string) => string | true }): Promise<string> {
    const { input } = await import('@inquirer/prompts');
    return input({ message: terminalSafe(question.message), default: question.default, validate: question.validate }, io()).catch(cancelled);
  }
}
