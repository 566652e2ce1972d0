/**
 * The parent side of transformers-js-worker.ts: starts the child, asks it one thing at a time, and turns a
 * crash, a timeout or a stray exit into an answer of type 'error' (the caller makes a finding of it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerAnswer, WorkerRequest } from './transformers-js-worker.js';

/** Compiled: the .js beside this file. From sources (tests, tsx): the .ts, run through tsx. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./transformers-js-worker.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL('./transformers-js-worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export class TransformersJsWorker {
  private readonly child: ChildProcess;
  private output = '';
  private exited: string | undefined;
  private pending: ((answer: WorkerAnswer) => void) | undefined;

  private constructor() {
    const { file, execArgv } = workerEntry();
    this.child = fork(file, [], { execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', (answer: WorkerAnswer) => this.settle(answer));
    this.child.on('error', (error) => this.fail(`could not start: ${error.message}`));
    this.child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with status ${code}`;
      this.fail(`the transformers.js process ${this.exited}${this.lastLine()}`);
    });
  }

  static start(): TransformersJsWorker {
    return new TransformersJsWorker();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Sends one request and waits for its answer, at most timeoutMs. Then the child is killed (SIGKILL): a
   * request that never answers is usually busy JavaScript (a backtracking regex), which no message interrupts.
   * The answer is then an error with timedOut set.
   */
  ask(request: WorkerRequest, timeoutMs: number): Promise<WorkerAnswer> {
    if (this.exited) return Promise.resolve(this.errorAnswer(`the transformers.js process ${this.exited}${this.lastLine()}`));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settle({ ...this.errorAnswer(`transformers.js gave no answer within ${formatSeconds(timeoutMs)}`), timedOut: true });
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.pending = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      this.child.send(request);
    });
  }

  /** Stops the child at once (Ctrl-C): whatever it was asked is answered with an error. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (this.child.connected) this.child.send({ type: 'exit' } satisfies WorkerRequest);
    else this.child.kill('SIGKILL');
    await gone;
    clearTimeout(timer);
  }

  private settle(answer: WorkerAnswer): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(answer);
  }

  private fail(message: string): void {
    this.settle(this.errorAnswer(message));
  }

  private errorAnswer(message: string): Extract<WorkerAnswer, { type: 'error' }> {
    return { type: 'error', message, peakRssBytes: 0 };
  }

  private lastLine(): string {
    const line = this.output.trim().split('\n').at(-1);
    return line ? `: ${line}` : '';
  }
}
