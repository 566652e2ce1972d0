/**
 * Sequential file output through a ring of equal buffers ("slots"). A slot is filled (copied into, or converted
 * into straight from the source), then written and hashed in the background while the next ones fill; it is
 * reused only after both finished. So filling, writing and hashing overlap, and the memory is the ring, allocated
 * once, whatever the file size. Small slots (1 MiB) keep the bytes in the CPU caches between the conversion that
 * writes them and the hash that reads them.
 */
import type { FileHandle } from 'node:fs/promises';
import { alignedSharedMemory, DIRECT_ALIGN } from './direct-output.js';
import type { ChunkHasher } from './sha256-worker.js';

/**
 * Bytes per write call: cp's buffer size. Measured on a 2-core VM, 2 GB written in 256 KiB calls cost the
 * kernel 0.6-0.9 s, in 2-16 MiB calls 2.4-4.4 s (larger calls make it allocate larger page-cache folios).
 */
const WRITE_BYTES = 256 << 10;

export interface SlotWriterOptions {
  slotBytes: number;
  slotCount: number;
  /**
   * Start an fdatasync after each this many bytes written, in the background: the disk then writes back while
   * the conversion goes on, and the final fsync waits for the rest only. Absent: never.
   */
  syncEvery?: number;
  /**
   * The handle was opened with O_DIRECT (direct-output.ts): slots live in page-aligned memory, each is written
   * in one call at its slot-aligned offset, the last one padded to DIRECT_ALIGN, and finish() cuts the padding
   * off again. slotBytes must be a multiple of DIRECT_ALIGN.
   */
  direct?: boolean;
}

export class SlotWriter {
  private readonly slots: Uint8Array[];
  private readonly pending: Array<Promise<void> | undefined>;
  private current = 0;
  private used = 0;
  /** File position of the current slot's first byte. */
  private start = 0;
  /** The last write in the chain: one write at a time, in file order (concurrent writes to a file only contend). */
  private writing: Promise<void> = Promise.resolve();
  private writeFailure: unknown;
  private syncing = false;
  private lastSync: Promise<void> = Promise.resolve(); // never rejects: a failure is kept in syncFailure
  private syncFailure: unknown;
  private syncedTo = 0;
  /** Bytes written past the end (direct I/O pads the last slot); finish() truncates them. */
  private padding = 0;

  /** slotBytes must be a multiple of 8, so that a slot boundary never splits an aligned element. */
  constructor(
    private readonly handle: FileHandle,
    private readonly hasher: ChunkHasher,
    private readonly options: SlotWriterOptions,
  ) {
    const { slotBytes, slotCount } = options;
    if (options.direct && slotBytes % DIRECT_ALIGN !== 0) throw new Error(`direct I/O slots must be multiples of ${DIRECT_ALIGN} bytes`);
    // Shared memory, so a worker can hash a slot without copying it.
    const memory = options.direct ? alignedSharedMemory(slotBytes * slotCount) : new SharedArrayBuffer(slotBytes * slotCount);
    this.slots = Array.from({ length: slotCount }, (_, k) => new Uint8Array(memory, k * slotBytes, slotBytes));
    this.pending = new Array<Promise<void> | undefined>(slotCount);
  }

  /** File position of the next byte given. */
  get position(): number {
    return this.start + this.used;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const room = await this.room();
      const n = Math.min(room.length, bytes.length - done);
      room.set(bytes.subarray(done, done + n));
      done += n;
      await this.commit(n);
    }
  }

  /** The free rest of the current slot (never empty): fill a prefix of it, then commit() that many bytes. */
  async room(): Promise<Uint8Array> {
    if (this.used === this.slots[this.current].length) await this.submit();
    return this.slots[this.current].subarray(this.used);
  }

  async commit(bytes: number): Promise<void> {
    this.used += bytes;
    if (this.used === this.slots[this.current].length) await this.submit();
  }

  /** Writes what is left and waits for every write, hash and sync; rethrows the first failure. */
  async finish(): Promise<void> {
    if (this.used > 0) this.send();
    await Promise.all(this.pending);
    await this.lastSync;
    if (this.syncFailure !== undefined) throw this.syncFailure;
    if (this.padding > 0) await this.handle.truncate(this.start);
  }

  /** Waits for whatever is in flight, ignoring failures: before closing the file after an error. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending, this.lastSync]);
  }

  /** Hands the full current slot to the file and the hasher, then waits until the next slot is free again. */
  private async submit(): Promise<void> {
    this.send();
    await this.pending[this.current];
  }

  private send(): void {
    const slot = this.slots[this.current];
    const bytes = slot.subarray(0, this.used);
    let toWrite = bytes;
    if (this.options.direct && this.used % DIRECT_ALIGN !== 0) {
      // Only the last slot is short: pad it with zeros to a whole block; finish() truncates the file after it.
      const padded = Math.ceil(this.used / DIRECT_ALIGN) * DIRECT_ALIGN;
      slot.fill(0, this.used, padded);
      toWrite = slot.subarray(0, padded);
      this.padding = padded - this.used;
    }
    const position = this.start;
    // After a failed write (a full disk) the later ones fail with the same error instead of trying again.
    const write = this.writing.then(() => (this.writeFailure === undefined ? this.writeAll(toWrite, position) : Promise.reject(this.writeFailure)));
    this.writing = write.catch((error: unknown) => {
      this.writeFailure ??= error;
    });
    // The hasher gets the slots in file order (the hash is sequential).
    const done = Promise.all([write, this.hasher.update(bytes)]).then(() => undefined);
    done.catch(() => {}); // observed by whoever waits for this slot next; never an unhandled rejection meanwhile
    this.pending[this.current] = done;
    this.start += this.used;
    this.used = 0;
    this.current = (this.current + 1) % this.slots.length;
    const every = this.options.syncEvery;
    if (every !== undefined && !this.syncing && this.start - this.syncedTo >= every) {
      this.syncedTo = this.start;
      this.syncing = true;
      this.lastSync = write.then(() => this.handle.datasync()).then(
        () => { this.syncing = false; },
        (error: unknown) => { this.syncFailure ??= error; this.syncing = false; },
      );
    }
  }

  private async writeAll(bytes: Uint8Array, position: number): Promise<void> {
    // Direct writes go to the device as they are: a whole slot per call keeps it busy with fewer round trips.
    const step = this.options.direct ? bytes.length : WRITE_BYTES;
    let done = 0;
    while (done < bytes.length) {
      const length = Math.min(bytes.length - done, step);
      const { bytesWritten } = await this.handle.write(bytes, done, length, position + done);
      done += bytesWritten;
    }
  }
}
