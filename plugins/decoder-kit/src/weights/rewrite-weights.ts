/**
 * Writes the model's tensors as new safetensors files: used when the dtype changes, when shards must be split to
 * a size limit, and for pickled checkpoints. Memory stays bounded: each tensor is streamed source chunk -> writer,
 * which converts into its fixed ring of buffers, so memory is that ring plus a few source chunks, whatever the
 * model size.
 */
import { safeJoin, type TaskHandle } from '../../../../src/index.js';
import type { SourceTensor } from './source-checkpoint.js';
import { readAhead } from './read-ahead.js';
import {
  BufferRing,
  SAFETENSORS_INDEX_FILE,
  buildSafetensorsIndex,
  convertedByteLength,
  shardFileName,
  writeSafetensors,
  writeSafetensorsIndex,
  type FloatDtype,
  type SafetensorsHeader,
} from './formats.js';

export interface RewriteOptions {
  outDir: string;
  /** Output dtype of every tensor; absent keeps each tensor's dtype. */
  dtype?: FloatDtype;
  /** Split into shards of at most this many tensor-data bytes; absent mirrors the source's sharding. */
  maxShardSize?: number;
  chunkBytes: number;
  signal?: AbortSignal;
  /** Advanced by every byte written. */
  task?: TaskHandle;
}

export interface PlannedTensor {
  source: SourceTensor;
  dtype: FloatDtype;
  byteLength: number;
}

export interface RewriteResult {
  /** Written files relative to outDir, index first when there is one. */
  files: string[];
  shards: SafetensorsHeader[];
  bytesWritten: number;
  /** sha256 of each written safetensors file (relative path), hashed while writing. */
  fileHashes: Record<string, string>;
  warnings: string[];
}

/** Source chunks requested ahead of the writer. */
const READ_AHEAD = 1;

/** transformers' own metadata, so the files look like what save_pretrained writes. */
const METADATA = { format: 'pt' };

export function planTensors(tensors: readonly SourceTensor[], dtype?: FloatDtype): PlannedTensor[] {
  return tensors.map((source) => {
    const from = source.dtype as FloatDtype;
    const to = dtype ?? from;
    return { source, dtype: to, byteLength: convertedByteLength(source.byteLength, from, to) };
  });
}

/**
 * Groups tensors into shards, keeping the source order (sequential reads). With a limit: greedy, a new shard
 * when the next tensor would exceed it; a single tensor above the limit gets a shard of its own (warned).
 * Without: one output shard per source file.
 */
export function planShards(tensors: readonly PlannedTensor[], maxShardSize: number | undefined, warnings: string[]): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [];
  if (maxShardSize === undefined) {
    const byFile = new Map<string, PlannedTensor[]>();
    for (const t of tensors) {
      let list = byFile.get(t.source.file);
      if (!list) byFile.set(t.source.file, (list = []));
      list.push(t);
    }
    return [...byFile.values()];
  }
  let current: PlannedTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (t.byteLength > maxShardSize) {
      warnings.push(`tensor ${t.source.name} is ${t.byteLength} bytes, above --max-shard-size ${maxShardSize}: it gets a shard of its own`);
    }
    if (current.length > 0 && size + t.byteLength > maxShardSize) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.byteLength;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export async function rewriteWeights(tensors: readonly SourceTensor[], options: RewriteOptions): Promise<RewriteResult> {
  const warnings: string[] = [];
  const shards = planShards(planTensors(tensors, options.dtype), options.maxShardSize, warnings);
  const names = shards.length === 1 ? ['model.safetensors'] : shards.map((_, k) => shardFileName(k + 1, shards.length));
  const headers: SafetensorsHeader[] = [];
  const fileHashes: Record<string, string> = {};
  // Source chunks are read into a few reusable buffers instead of a fresh one per chunk (no garbage to collect).
  const ring = new BufferRing(READ_AHEAD + 2);
  let bytesWritten = 0;
  for (let k = 0; k < shards.length; k++) {
    const file = safeJoin(options.outDir, names[k], 'weights file');
    const header = await writeSafetensors(
      file,
      shards[k].map((t) => ({
        name: t.source.name,
        dtype: t.dtype,
        shape: t.source.shape,
        // The writer converts straight into its own buffers: no converted copy per chunk.
        from: t.source.dtype as FloatDtype,
        data: () => streamTensor(t, options, ring),
      })),
      METADATA,
      { signal: options.signal },
    );
    headers.push(header);
    fileHashes[names[k]] = header.sha256;
    bytesWritten += header.fileSize;
  }
  const files = [...names];
  if (shards.length > 1) {
    const index = buildSafetensorsIndex(headers.map((header, k) => ({ file: names[k], tensors: header.tensors })));
    await writeSafetensorsIndex(safeJoin(options.outDir, SAFETENSORS_INDEX_FILE), index);
    files.unshift(SAFETENSORS_INDEX_FILE);
  }
  return { files, shards: headers, bytesWritten, fileHashes, warnings };
}

/**
 * The source's raw chunks, read one ahead (the read overlaps the writer's conversion of the previous chunk). With
 * one chunk being read ahead and one resolved but not yet taken, the chunk the writer holds is overwritten no
 * sooner than READ_AHEAD + 2 chunks later; the writer is done with each chunk before it asks for the next.
 */
async function* streamTensor(t: PlannedTensor, options: RewriteOptions, ring: BufferRing): AsyncGenerator<Uint8Array> {
  const from = t.source.dtype as FloatDtype;
  for await (const chunk of readAhead(t.source.chunks(options.chunkBytes, options.signal, ring), READ_AHEAD)) {
    options.task?.advance(convertedByteLength(chunk.length, from, t.dtype));
    yield chunk;
  }
}
