/**
 * sha256 of a byte stream, either on the calling thread or on a worker thread. Node's hash runs on the thread that
 * calls update(), and a conversion's main thread is busy converting: on a worker the two run on separate cores.
 * Chunks go to the worker as views of a SharedArrayBuffer (no copy); update() resolves once the worker has hashed
 * them, and only then may the caller reuse that memory.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface ChunkHasher {
  /** Hashes `bytes` after everything given before; resolves when `bytes` may be overwritten. */
  update(bytes: Uint8Array): Promise<void>;
  /** Lowercase hex digest of everything given; call once, after every update() resolved. */
  digest(): Promise<string>;
  close(): Promise<void>;
}

/** Hashes on the calling thread: for small files, where starting a thread costs more than hashing. */
export class InlineSha256 implements ChunkHasher {
  private readonly hash = createHash('sha256');

  update(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    return Promise.resolve();
  }

  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }

  async close(): Promise<void> {}
}

// Plain CommonJS evaluated by the worker: no file to resolve, so it runs the same from dist/, tsx and vitest.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === null) parentPort.postMessage(hash.digest('hex'));
  else { hash.update(new Uint8Array(m.buffer, m.offset, m.length)); parentPort.postMessage(m.length); }
});
`;

/** Hashes on a worker thread. Every chunk given to update() must be a view of a SharedArrayBuffer. */
export class WorkerSha256 implements ChunkHasher {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  // The worker answers in order: one answer per update(), then the digest.
  private readonly waiting: Array<{ resolve: (value: unknown) => void; reject: (error: Error) => void }> = [];
  private failure: Error | undefined;
  private closed = false;

  constructor() {
    this.worker.on('message', (value: unknown) => this.waiting.shift()?.resolve(value));
    this.worker.on('error', (error: Error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the sha256 worker stopped (exit code ${code})`)));
  }

  update(bytes: Uint8Array): Promise<void> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      return Promise.reject(new TypeError('WorkerSha256.update() needs a view of a SharedArrayBuffer'));
    }
    return this.ask({ buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length }).then(() => undefined);
  }

  async digest(): Promise<string> {
    return (await this.ask(null)) as string;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private ask(message: unknown): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(message);
    });
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failure ??= error;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
