/**
 * Streaming safetensors writer. The header is planned from names, dtypes and shapes first (plan.ts); then each
 * tensor's bytes are pulled from its source in file order and written sequentially through a ring of 1 MiB slots
 * (slot-writer.ts), so converting a model whose tensors come from a generator holds the ring plus the source's
 * chunks, whatever the model size. A tensor given with `from` is converted straight into the slots. Every byte is
 * hashed as it is written (on a worker thread for large files), so nobody reads the file again for its sha256.
 * The path is written as given; callers own temp-file-and-rename. On any failure the partial file is removed.
 */
import { rm } from 'node:fs/promises';
import { cannotWrite } from './bad-file.js';
import { floatDtypeSize, isFloatDtype, type FloatDtype } from './convert.js';
import { openOutputFile } from './direct-output.js';
import { planSafetensors, type TensorSpec } from './plan.js';
import type { SafetensorsHeader } from './read-header.js';
import { InlineSha256, WorkerSha256, type ChunkHasher } from './sha256-worker.js';
import { SlotWriter } from './slot-writer.js';
import { writeConverted } from './write-converted.js';

/** Tensor bytes: a buffer, or a function returning the bytes chunk by chunk (called once, when it is written). */
export type TensorSource = Uint8Array | (() => AsyncIterable<Uint8Array> | Iterable<Uint8Array>);

export interface TensorToWrite extends TensorSpec {
  data: TensorSource;
  /**
   * The dtype of the bytes in `data` when it differs from `dtype` (both float dtypes): the writer converts them
   * into its own buffers as it writes, like convertFloatChunks but without an intermediate copy.
   */
  from?: FloatDtype;
}

export interface WriteOptions {
  signal?: AbortSignal;
  /** fsync before closing (default true): the caller's rename must not publish a file the disk does not hold. */
  sync?: boolean;
}

/** The ring: 8 MiB whatever the file size (1 MiB slots stay in the CPU caches between conversion and hashing). */
const SLOT_BYTES = 1 << 20;
const SLOT_COUNT = 8;
/** With sync on, the disk is asked to write back every 128 MiB instead of all at the end. */
const SYNC_EVERY = 128 << 20;
/** From this file size on, hashing runs on a worker thread (starting one takes ~20 ms, hashing 40 MB as long). */
const WORKER_HASH_FROM = 64 << 20;
/** From this file size on, the file is written with direct I/O where supported (direct-output.ts says why). */
const DIRECT_FROM = 64 << 20;

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
    const { data, from, dtype, name } = list[index];
    if (from !== undefined && !(isFloatDtype(from) && isFloatDtype(dtype))) {
      throw cannotWrite(file, `tensor ${JSON.stringify(name)} cannot be converted from ${from} to ${dtype}: float dtypes only`);
    }
    const expected = sourceBytes(plan.tensors[k].end - plan.tensors[k].begin, from, dtype);
    if (data instanceof Uint8Array && data.length !== expected) {
      throw cannotWrite(file, `tensor ${JSON.stringify(name)} has ${data.length} bytes, its shape needs ${expected}`);
    }
  });

  options.signal?.throwIfAborted();
  const { handle, direct } = await openOutputFile(file, plan.fileSize >= DIRECT_FROM);
  let hasher: ChunkHasher | undefined;
  let out: SlotWriter | undefined;
  let ok = false;
  let sha256 = '';
  try {
    hasher = plan.fileSize >= WORKER_HASH_FROM ? new WorkerSha256() : new InlineSha256();
    const single = plan.fileSize <= SLOT_BYTES;
    out = new SlotWriter(handle, hasher, {
      slotBytes: single ? Math.max(8, Math.ceil(plan.fileSize / 8) * 8) : SLOT_BYTES,
      slotCount: single ? 1 : SLOT_COUNT,
      // Direct writes are on the device already: no write-back to start early.
      syncEvery: options.sync === false || direct ? undefined : SYNC_EVERY,
      direct,
    });
    await out.write(plan.prefix);
    for (let k = 0; k < plan.order.length; k++) {
      const input = list[plan.order[k]];
      const label = `tensor ${input.name}`; // as convertFloatChunks names it in its refusals
      const from = input.from ?? (input.dtype as FloatDtype);
      const to = input.dtype as FloatDtype;
      const expected = sourceBytes(plan.tensors[k].end - plan.tensors[k].begin, input.from, input.dtype);
      const sink = out;
      const put = input.from === undefined || input.from === input.dtype
        ? (bytes: Uint8Array) => sink.write(bytes)
        : (bytes: Uint8Array) => writeConverted(sink, bytes, from, to, label);
      const data = input.data;
      if (data instanceof Uint8Array) {
        await put(data);
        continue;
      }
      // Chunks may split elements anywhere; the split element is carried to the next chunk.
      const quantum = input.from === undefined ? 1 : floatDtypeSize(from);
      let carry: Uint8Array | undefined;
      let written = 0;
      for await (const chunk of data()) {
        options.signal?.throwIfAborted();
        written += chunk.length;
        if (written > expected) break;
        let bytes = chunk;
        if (carry) {
          bytes = new Uint8Array(carry.length + chunk.length);
          bytes.set(carry, 0);
          bytes.set(chunk, carry.length);
          carry = undefined;
        }
        const whole = bytes.length - (bytes.length % quantum);
        if (whole < bytes.length) carry = bytes.slice(whole);
        if (whole > 0) await put(whole < bytes.length ? bytes.subarray(0, whole) : bytes);
      }
      if (written !== expected) {
        const got = written > expected ? `more than ${expected}` : `only ${written}`;
        throw cannotWrite(file, `tensor ${JSON.stringify(input.name)} source gave ${got} bytes, its shape needs ${expected}`);
      }
    }
    await out.finish();
    if (out.position !== plan.fileSize) throw cannotWrite(file, `wrote ${out.position} bytes, planned ${plan.fileSize}`, 'INTERNAL');
    if (options.sync !== false) await handle.sync();
    sha256 = await hasher.digest();
    ok = true;
  } finally {
    // Writes still in flight (after a failure) must finish before the file is closed and removed.
    if (!ok) await out?.settle();
    await hasher?.close(); // a worker left running would keep the process alive
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
    directIo: direct,
  };
}

/** Bytes the source must give for `fileBytes` of `dtype` in the file. */
function sourceBytes(fileBytes: number, from: FloatDtype | undefined, dtype: string): number {
  if (from === undefined || from === dtype || !isFloatDtype(dtype)) return fileBytes;
  return (fileBytes / floatDtypeSize(dtype)) * floatDtypeSize(from);
}

/** The header of the written file, and the sha256 of its bytes (hashed as they were written: no second read). */
export interface WrittenSafetensors extends SafetensorsHeader {
  sha256: string;
  /** Whether the bytes went to the device with direct I/O (bypassing the page cache). */
  directIo: boolean;
}
