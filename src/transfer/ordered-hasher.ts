/**
 * Hashes a file that is written out of order (parallel ranges, resumed partials) in one pass, in order, without
 * holding it in memory. Bytes written right at the hash frontier are hashed as they pass; anything else is read
 * back from disk (the page cache) once the bytes before it are there. Memory: one read buffer.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { IntervalSet } from './interval-set.js';

const READ_BLOCK = 2 << 20;

export interface Digests {
  sha256: string;
  /** git blob sha1, when asked for */
  gitSha1?: string;
}

export class OrderedHasher {
  private readonly sha256 = createHash('sha256');
  private readonly gitSha1: Hash | undefined;
  private hashed = 0;
  private pumping: Promise<void> | undefined;
  private failure: unknown;
  private buffer: Buffer | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    /** Must already include a range when onWritten is called for it. */
    private readonly done: IntervalSet,
    withGitSha1: boolean,
    /** Stops a read-back in progress (Ctrl-C during the final hash of a large file). */
    private readonly signal?: AbortSignal,
  ) {
    if (withGitSha1) this.gitSha1 = createHash('sha1').update(`blob ${size}\0`);
  }

  /** After [position, position + length) was written (and added to `done`). */
  onWritten(position: number, data: Buffer): void {
    if (!this.pumping && position === this.hashed) this.update(data);
    this.kick();
  }

  /** Starts reading back whatever is on disk past the frontier (also the resumed bytes of an earlier run). */
  kick(): void {
    if (this.pumping || this.failure || this.done.contiguousEnd(this.hashed) <= this.hashed) return;
    this.pumping = this.pump().then(
      () => void (this.pumping = undefined),
      (error) => {
        this.failure = error;
        this.pumping = undefined;
      },
    );
  }

  private async pump(): Promise<void> {
    this.buffer ??= Buffer.allocUnsafe(Math.min(READ_BLOCK, Math.max(1, this.size)));
    for (let end = this.done.contiguousEnd(this.hashed); end > this.hashed; end = this.done.contiguousEnd(this.hashed)) {
      this.signal?.throwIfAborted();
      const want = Math.min(this.buffer.byteLength, end - this.hashed);
      const { bytesRead } = await this.fh.read(this.buffer, 0, want, this.hashed);
      if (bytesRead <= 0) throw new Error('the partial file is shorter than its record');
      this.update(this.buffer.subarray(0, bytesRead));
    }
  }

  private update(b: Buffer): void {
    this.sha256.update(b);
    this.gitSha1?.update(b);
    this.hashed += b.byteLength;
  }

  /** Waits for any read-back in flight (call before closing the file). */
  async settle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** The digests, once every byte is on disk. */
  async finish(): Promise<Digests> {
    await this.settle();
    this.kick();
    await this.settle();
    if (this.failure) throw this.failure;
    if (this.hashed !== this.size) throw new Error(`hashed ${this.hashed} of ${this.size} bytes`);
    this.buffer = undefined;
    return { sha256: this.sha256.digest('hex'), ...(this.gitSha1 ? { gitSha1: this.gitSha1.digest('hex') } : {}) };
  }
}
