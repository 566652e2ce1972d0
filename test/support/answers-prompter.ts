/**
 * A prompter that answers from a list, as a user at a terminal would: the kernel's questions are asked for
 * real and the test checks which were asked. (The terminal prompter itself is exercised through the CLI.)
 */
import type { Choice, Prompter } from '../../src/index.js';

export class AnswersPrompter implements Prompter {
  readonly interactive = true;
  readonly asked: string[] = [];
  constructor(private readonly answers: (string | boolean)[]) {}

  private next(message: string): string | boolean {
    this.asked.push(message);
    if (this.answers.length === 0) throw new Error(`unexpected question: ${message}`);
    return this.answers.shift()!;
  }
  async confirm(q: { message: string }): Promise<boolean> {
    return this.next(q.message) === true;
  }
  async secret(q: { message: string }): Promise<string> {
    return String(this.next(q.message));
  }
  async choose<T extends string>(q: { message: string; choices: Choice<T>[] }): Promise<T> {
    return this.next(q.message) as T;
  }
  async text(q: { message: string }): Promise<string> {
    return String(this.next(q.message));
  }
}
