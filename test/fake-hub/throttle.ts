/**
 * Per-connection bandwidth limit: a token bucket whose balance may go negative, so a sender first takes the bytes it
 * wants and then sleeps off the debt. Timer lateness turns into saved-up tokens (up to 100 ms of traffic), which
 * keeps the average rate accurate to a few percent even with coarse timers on a busy machine. Idle time between
 * responses on a keep-alive connection does not count (startResponse), so no response starts with a burst.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Bytes to send per step at this rate: ~10 ms of traffic, so one late timer costs little. */
export function throttleChunkSize(bytesPerSecond: number): number {
  return Math.max(512, Math.min(256 * 1024, Math.floor(bytesPerSecond / 100)));
}

export class TokenBucket {
  private tokens = 0; // starts empty so the first second is not a burst
  private last = performance.now();

  constructor(private readonly rate: () => number | undefined) {}

  /** Forgets saved-up tokens (a debt is kept): the connection was idle, not slow. */
  startResponse(): void {
    this.tokens = Math.min(this.tokens, 0);
    this.last = performance.now();
  }

  /** Resolves when `bytes` may be sent. Rejects if `signal` aborts while waiting. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const rate = this.rate();
    if (!rate || rate <= 0) return;
    const now = performance.now();
    const burst = Math.max(2 * throttleChunkSize(rate), rate / 10);
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) / 1000) * rate);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await sleep((-this.tokens / rate) * 1000, undefined, { signal });
  }
}

/** One bucket per TCP connection: keep-alive requests on the same socket share it, parallel connections do not. */
export class ConnectionThrottle {
  private readonly buckets = new WeakMap<object, TokenBucket>();
  private bytesPerSecond: number | undefined;

  constructor(bytesPerSecond?: number) {
    this.set(bytesPerSecond);
  }

  set(bytesPerSecond: number | undefined): void {
    if (bytesPerSecond !== undefined && !(bytesPerSecond > 0)) throw new Error('fake hub: throttle must be > 0 bytes/s');
    this.bytesPerSecond = bytesPerSecond;
  }

  get rate(): number | undefined {
    return this.bytesPerSecond;
  }

  bucketFor(connection: object): TokenBucket {
    let bucket = this.buckets.get(connection);
    if (!bucket) {
      bucket = new TokenBucket(() => this.bytesPerSecond);
      this.buckets.set(connection, bucket);
    }
    return bucket;
  }
}
