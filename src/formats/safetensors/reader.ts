/**
 * Reading tensor bytes with bounded memory. Everything is a positional read on a FileHandle: nothing maps or
 * loads the whole file, and a conversion that streams chunks holds one chunk (default 4 MiB) at a time.
 */
import { constants as bufferConstants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { badSafetensors } from './bad-file.js';
import { dtypeByteQuantum } from './dtypes.js';
import { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './read-header.js';
import { readFully } from './read-fully.js';
import type { BufferRing } from './buffer-ring.js';

export const DEFAULT_CHUNK_BYTES = 4 << 20;

export interface ChunkOptions {
  /** Upper bound per chunk; rounded down to whole elements. Default 4 MiB. */
  chunkBytes?: number;
  signal?: AbortSignal;
  /**
   * Read into these reusable buffers instead of a fresh buffer per chunk: a chunk is overwritten ring.size chunks
   * later, so the consumer must be done with each chunk before it asks for that many more.
   */
  ring?: BufferRing;
}

/** One piece of a tensor, as yielded by SafetensorsReader.chunks()/iterateChunks(). */
export interface TensorChunk {
  tensor: SafetensorsTensorInfo;
  /** Byte offset of this chunk inside the tensor. */
  offset: number;
  bytes: Uint8Array;
  /** True for the tensor's final chunk (also for an empty tensor's single empty chunk). */
  last: boolean;
}

/** Reads one tensor's bytes (opens and closes the file). The result is a fresh, 8-byte-aligned buffer. */
export async function readTensor(file: string, tensor: SafetensorsTensorInfo): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    return await readTensorFrom(handle, file, tensor);
  } finally {
    await handle.close();
  }
}

/** Streams one tensor in chunks of at most chunkBytes (whole elements each). */
export async function* readTensorChunks(
  file: string,
  tensor: SafetensorsTensorInfo,
  options: ChunkOptions = {},
): AsyncGenerator<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    for await (const chunk of chunksFrom(handle, file, tensor, options)) yield chunk.bytes;
  } finally {
    await handle.close();
  }
}

/**
 * An open safetensors file: validated header plus one FileHandle for all reads. Call close() when done
 * (a `try/finally` around the use).
 */
export class SafetensorsReader {
  private readonly byName: Map<string, SafetensorsTensorInfo>;

  private constructor(
    readonly header: SafetensorsHeader,
    private readonly handle: FileHandle,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(file: string): Promise<SafetensorsReader> {
    const header = await readSafetensorsHeader(file);
    const handle = await open(file, 'r');
    // The header was validated against the size seen then; a file replaced in between is caught here.
    const { size } = await handle.stat();
    if (size !== header.fileSize) {
      await handle.close();
      throw badSafetensors(file, `file changed size while being opened (${header.fileSize} -> ${size} bytes)`);
    }
    return new SafetensorsReader(header, handle);
  }

  get file(): string {
    return this.header.file;
  }

  /** Tensors sorted by offset. */
  get tensors(): readonly SafetensorsTensorInfo[] {
    return this.header.tensors;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor's info, or a BAD_INPUT error naming the missing tensor. */
  get(name: string): SafetensorsTensorInfo {
    const tensor = this.byName.get(name);
    if (!tensor) throw badSafetensors(this.file, `has no tensor ${JSON.stringify(name)}`);
    return tensor;
  }

  /** The whole tensor in memory. For tensors above a few hundred MB prefer chunks(). */
  async read(tensor: string | SafetensorsTensorInfo): Promise<Uint8Array> {
    return readTensorFrom(this.handle, this.file, this.resolve(tensor));
  }

  /** One tensor in chunks of whole elements. */
  chunks(tensor: string | SafetensorsTensorInfo, options: ChunkOptions = {}): AsyncGenerator<Uint8Array> {
    const info = this.resolve(tensor);
    const source = chunksFrom(this.handle, this.file, info, options);
    return (async function* () {
      for await (const chunk of source) yield chunk.bytes;
    })();
  }

  /** Every tensor (or those selected), in file order, chunk by chunk: the sequential pass a conversion wants. */
  async *iterateChunks(
    options: ChunkOptions & { filter?: (tensor: SafetensorsTensorInfo) => boolean } = {},
  ): AsyncGenerator<TensorChunk> {
    for (const tensor of this.header.tensors) {
      if (options.filter && !options.filter(tensor)) continue;
      yield* chunksFrom(this.handle, this.file, tensor, options);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private resolve(tensor: string | SafetensorsTensorInfo): SafetensorsTensorInfo {
    return typeof tensor === 'string' ? this.get(tensor) : tensor;
  }
}

async function readTensorFrom(handle: FileHandle, file: string, tensor: SafetensorsTensorInfo): Promise<Uint8Array> {
  const length = tensor.end - tensor.begin;
  if (length > bufferConstants.MAX_LENGTH) {
    throw badSafetensors(file, `tensor ${JSON.stringify(tensor.name)} is ${length} bytes, too large for one buffer; read it in chunks`, 'This is a bug in the caller: use readTensorChunks() for tensors this large.');
  }
  const bytes = new Uint8Array(length);
  await readFully(handle, bytes, tensor.fileOffset, file);
  return bytes;
}

async function* chunksFrom(
  handle: FileHandle,
  file: string,
  tensor: SafetensorsTensorInfo,
  options: ChunkOptions,
): AsyncGenerator<TensorChunk> {
  const quantum = dtypeByteQuantum(tensor.dtype);
  const wanted = Math.max(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, quantum);
  const chunkBytes = wanted - (wanted % quantum);
  const length = tensor.end - tensor.begin;
  if (length === 0) {
    yield { tensor, offset: 0, bytes: new Uint8Array(0), last: true };
    return;
  }
  for (let offset = 0; offset < length; offset += chunkBytes) {
    options.signal?.throwIfAborted();
    const size = Math.min(chunkBytes, length - offset);
    const bytes = options.ring ? options.ring.take(size) : new Uint8Array(size);
    await readFully(handle, bytes, tensor.fileOffset + offset, file);
    yield { tensor, offset, bytes, last: offset + bytes.length === length };
  }
}
