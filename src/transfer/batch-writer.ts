/**
 * Socket bytes -> positional file writes, double-buffered: one batch fills while the other is written, so the
 * connection keeps flowing during a write; when both are busy the socket is paused. Memory per connection is two
 * fixed buffers, whatever the file size.
 */
export class BatchWriter {
  private fill: Buffer;
  private free: Buffer | undefined;
  private fillLength = 0;
  /** File offset of fill[0]. */
  private fillAt: number;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  /** Called when a paused socket may read again. */
  onResume: (() => void) | undefined;
  /** Called once when a write fails (the request should stop). */
  onFailure: ((error: unknown) => void) | undefined;

  constructor(
    buffers: readonly [Buffer, Buffer],
    at: number,
    /** A batch is written once it holds this many bytes; each buffer must hold this plus one socket read. */
    private readonly batchBytes: number,
    private readonly write: (data: Buffer, at: number) => Promise<void>,
  ) {
    [this.fill, this.free] = buffers;
    this.fillAt = at;
  }

  /** File offset right after the last byte pushed. */
  get position(): number {
    return this.fillAt + this.fillLength;
  }

  /** Takes a copy of `view`; false asks the caller to pause until onResume. */
  push(view: Buffer): boolean {
    if (this.fillLength + view.byteLength > this.fill.byteLength) throw new Error('batch overflow: a read larger than the headroom');
    view.copy(this.fill, this.fillLength);
    this.fillLength += view.byteLength;
    if (this.fillLength < this.batchBytes) return true;
    if (!this.free || this.failure !== undefined) return false;
    this.handOff();
    return true;
  }

  private handOff(): void {
    const buffer = this.fill;
    const data = buffer.subarray(0, this.fillLength);
    const at = this.fillAt;
    this.fill = this.free!;
    this.free = undefined;
    this.fillAt += this.fillLength;
    this.fillLength = 0;
    this.inFlight = this.write(data, at).then(
      () => {
        this.free = buffer;
        this.inFlight = undefined;
        if (this.fillLength >= this.batchBytes) {
          this.handOff();
          this.onResume?.();
        }
      },
      (error: unknown) => {
        this.failure = error;
        this.inFlight = undefined;
        this.onFailure?.(error);
      },
    );
  }

  /** Resolves once every byte pushed is on disk; rethrows a failed write. */
  async flush(): Promise<void> {
    for (;;) {
      while (this.inFlight) await this.inFlight;
      if (this.failure !== undefined) throw this.failure;
      if (this.fillLength === 0) return;
      this.handOff();
    }
  }
}
