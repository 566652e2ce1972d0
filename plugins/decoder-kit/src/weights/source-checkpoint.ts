/**
 * The downloaded weights as a list of tensors whose bytes can be streamed, whatever the file format. Every
 * safetensors file is validated strictly by the reader (header, offsets, sizes) and a sharded index against the
 * shard headers before anything is linked or converted.
 */
import { lstat } from 'node:fs/promises';
import { ModelImportError, safeJoin } from '../../../../src/index.js';
import type { CheckpointTensor } from '../inventory/check-inventory.js';
import { PYTORCH_INDEX_FILE, SAFETENSORS_INDEX_FILE, SafetensorsReader, readShardedSafetensors, type BufferRing, type SafetensorsTensorInfo } from './formats.js';

export interface SourceTensor extends CheckpointTensor {
  /** The weight file (relative to rawDir) holding it. */
  file: string;
  byteLength: number;
  /**
   * Raw little-endian bytes, in chunks of whole elements of at most chunkBytes. With a ring, chunks may be read
   * into its buffers (see ChunkOptions.ring: each chunk is overwritten ring.size chunks later).
   */
  chunks(chunkBytes: number, signal?: AbortSignal, ring?: BufferRing): AsyncIterable<Uint8Array>;
}

export interface SourceCheckpoint {
  format: 'safetensors' | 'pytorch';
  /** Weight files relative to rawDir, index first when there is one. */
  files: string[];
  /** Data files (shards) with their byte sizes. */
  shards: Array<{ file: string; size: number }>;
  tensors: SourceTensor[];
  warnings: string[];
  close(): Promise<void>;
}

const SINGLE_SAFETENSORS = 'model.safetensors';
const SINGLE_PYTORCH = 'pytorch_model.bin';

/** Finds and opens the checkpoint in rawDir: safetensors (single or sharded) first, else pytorch_model*.bin. */
export async function openCheckpoint(rawDir: string): Promise<SourceCheckpoint> {
  if (await exists(rawDir, SAFETENSORS_INDEX_FILE)) return openShardedSafetensors(rawDir);
  if (await exists(rawDir, SINGLE_SAFETENSORS)) return openSafetensors(rawDir, [SINGLE_SAFETENSORS], [], undefined);
  if ((await exists(rawDir, PYTORCH_INDEX_FILE)) || (await exists(rawDir, SINGLE_PYTORCH))) {
    const { openPytorchCheckpoint } = await import('./pytorch-checkpoint.js');
    return openPytorchCheckpoint(rawDir);
  }
  throw new ModelImportError('CONVERSION_FAILED', `no weights found: none of ${SAFETENSORS_INDEX_FILE}, ${SINGLE_SAFETENSORS}, ${PYTORCH_INDEX_FILE}, ${SINGLE_PYTORCH} was fetched`, {
    hint: 'The repository has no weights in a supported format (safetensors or pytorch_model*.bin).',
  });
}

async function openShardedSafetensors(rawDir: string): Promise<SourceCheckpoint> {
  const sharded = await readShardedSafetensors(safeJoin(rawDir, SAFETENSORS_INDEX_FILE, 'weights index'));
  const shardFiles = [...sharded.shards.keys()];
  return openSafetensors(rawDir, shardFiles, sharded.warnings, SAFETENSORS_INDEX_FILE);
}

async function openSafetensors(rawDir: string, shardFiles: string[], warnings: string[], indexFile: string | undefined): Promise<SourceCheckpoint> {
  const readers: SafetensorsReader[] = [];
  const close = async () => {
    await Promise.all(readers.map((r) => r.close()));
  };
  try {
    const tensors: SourceTensor[] = [];
    const shards: Array<{ file: string; size: number }> = [];
    for (const file of shardFiles) {
      const reader = await SafetensorsReader.open(safeJoin(rawDir, file, 'weights file'));
      readers.push(reader);
      shards.push({ file, size: reader.header.fileSize });
      for (const info of reader.tensors) tensors.push(safetensorsTensor(reader, file, info));
    }
    return {
      format: 'safetensors',
      files: indexFile ? [indexFile, ...shardFiles] : shardFiles,
      shards,
      tensors,
      warnings: [...warnings],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function safetensorsTensor(reader: SafetensorsReader, file: string, info: SafetensorsTensorInfo): SourceTensor {
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    file,
    byteLength: info.end - info.begin,
    chunks: (chunkBytes, signal, ring) => reader.chunks(info, { chunkBytes, signal, ring }),
  };
}

async function exists(dir: string, file: string): Promise<boolean> {
  try {
    return (await lstat(safeJoin(dir, file))).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
