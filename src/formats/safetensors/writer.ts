/**
 * Streaming safetensors writer. The header is planned from names, dtypes and shapes first (plan.ts); then each
 * tensor's bytes are pulled from its source in file order and written sequentially, so converting a model whose
 * tensors come from a generator never holds more than one chunk plus a 4 MiB write buffer. The path is written
 * as given; callers own temp-file-and-rename. On any failure the partial file is removed.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { cannotWrite } from './bad-file.js';
import { planSafetensors, type TensorSpec } from './plan.js';
import type { SafetensorsHeader } from './read-header.js';

/** Tensor bytes: a buffer, or a function returning the bytes chunk by chunk (called once, when it is written). */
export type TensorSource = Uint8Array | (() => AsyncIterable<Uint8Array> | Iterable<Uint8Array>);

export interface TensorToWrite extends TensorSpec {
  data: TensorSource;
}

export interface WriteOptions {
  signal?: AbortSignal;
  /** fsync before closing (default true): the caller's rename must not publish a file the disk does not hold. */
  sync?: boolean;
}

const WRITE_BUFFER = 4 << 20;

export async function writeSafetensors(
  file: string,
  tensors: Iterable<TensorToWrite> | AsyncIterable<TensorToWrite>,
  metadata?: Record<string, string>,
  options: WriteOptions = {},
): Promise<WrittenSafetensors> {
  const list: TensorToWrite[] = [];
  for await (const tensor of tensors) list.push(tensor);
  const plan = planSafetensors(list, metadata, file); // throws before the file is created
  plan.order.forEach((index, k) => {
    const data = list[index].data;
    const expected = plan.tensors[k].end - plan.tensors[k].begin;
    if (data instanceof Uint8Array && data.length !== expected) {
      throw cannotWrite(file, `tensor ${JSON.stringify(list[index].name)} has ${data.length} bytes, its shape needs ${expected}`);
    }
  });

  options.signal?.throwIfAborted();
  const handle = await open(file, 'w');
  let ok = false;
  let sha256 = '';
  try {
    const out = new BufferedWriter(handle);
    await out.write(plan.prefix);
    for (let k = 0; k < plan.order.length; k++) {
      const input = list[plan.order[k]];
      const expected = plan.tensors[k].end - plan.tensors[k].begin;
      const data = input.data;
      if (data instanceof Uint8Array) {
        await out.write(data);
        continue;
      }
      let written = 0;
      for await (const chunk of data()) {
        options.signal?.throwIfAborted();
        written += chunk.length;
        if (written > expected) break;
        await out.write(chunk);
      }
      if (written !== expected) {
        const got = written > expected ? `more than ${expected}` : `only ${written}`;
        throw cannotWrite(file, `tensor ${JSON.stringify(input.name)} source gave ${got} bytes, its shape needs ${expected}`);
      }
    }
    await out.flush();
    if (out.position !== plan.fileSize) throw cannotWrite(file, `wrote ${out.position} bytes, planned ${plan.fileSize}`, 'INTERNAL');
    if (options.sync !== false) await handle.sync();
    sha256 = out.sha256();
    ok = true;
  } finally {
    await handle.close();
    if (!ok) await rm(file, { force: true });
  }
  return {
    file,
    headerLength: plan.headerLength,
    dataStart: plan.dataStart,
    tensors: plan.tensors,
    metadata: { ...(metadata ?? {}) },
    fileSize: plan.fileSize,
    sha256,
  };
}

/** The header of the written file, and the sha256 of its bytes (hashed as they were written: no second read). */
export interface WrittenSafetensors extends SafetensorsHeader {
  sha256: string;
}

/** Coalesces small writes (many tiny norm/bias tensors) into 4 MiB writes; large chunks go straight through. */
class BufferedWriter {
  position = 0;
  private readonly buffer = new Uint8Array(WRITE_BUFFER);
  private used = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(private readonly handle: FileHandle) {}

  /** sha256 of everything written, in file order (every byte passes through writeAll once, sequentially). */
  sha256(): string {
    return this.hash.digest('hex');
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length >= WRITE_BUFFER / 2) {
      await this.flush();
      await this.writeAll(bytes);
      return;
    }
    if (this.used + bytes.length > WRITE_BUFFER) await this.flush();
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeAll(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, Math.min(bytes.length - done, 1 << 30), this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}
