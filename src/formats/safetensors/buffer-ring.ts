/**
 * A fixed number of reusable buffers handed out in turn, so a stream of chunks does not allocate (and later
 * garbage-collect) a fresh buffer per chunk. The k-th buffer taken is overwritten by the (k + size)-th: whoever
 * takes them must be done with a chunk by then.
 */
export class BufferRing {
  private readonly buffers: Uint8Array[] = [];
  private next = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a buffer ring needs at least one buffer, got ${size}`);
  }

  /** `length` bytes of the next buffer (grown when too small; contents undefined). */
  take(length: number): Uint8Array {
    const k = this.next;
    this.next = (k + 1) % this.size;
    let buffer = this.buffers[k];
    if (!buffer || buffer.length < length) this.buffers[k] = buffer = new Uint8Array(length);
    return buffer.subarray(0, length);
  }
}
