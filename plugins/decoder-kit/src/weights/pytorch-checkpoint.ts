/**
 * pytorch_model.bin (+ pytorch_model.bin.index.json with shards) read by the project's pickle reader, which
 * executes nothing: only the globals needed to rebuild tensors are accepted, anything else is refused with a
 * one-line error naming the global. Tensor bytes are then streamed like safetensors tensors.
 */
import { readFile, stat } from 'node:fs/promises';
import { safeJoin } from '../../../../src/index.js';
import {
  PYTORCH_INDEX_FILE,
  checkSafetensorsIndex,
  parseSafetensorsIndex,
  readTorchCheckpoint,
  type SafetensorsHeader,
  type TorchCheckpoint,
  type TorchTensorInfo,
} from './formats.js';
import type { SourceCheckpoint, SourceTensor } from './source-checkpoint.js';

const SINGLE = 'pytorch_model.bin';

export async function openPytorchCheckpoint(rawDir: string): Promise<SourceCheckpoint> {
  const checkpoints: TorchCheckpoint[] = [];
  const close = async () => {
    await Promise.all(checkpoints.map((c) => c.close()));
  };
  try {
    let shardFiles = [SINGLE];
    let index: ReturnType<typeof parseSafetensorsIndex> | undefined;
    const indexPath = safeJoin(rawDir, PYTORCH_INDEX_FILE);
    const sharded = await isFile(indexPath);
    if (sharded) {
      // Same JSON shape as model.safetensors.index.json; the parser also refuses shard paths that escape rawDir.
      index = parseSafetensorsIndex(await readFile(indexPath, 'utf8'), indexPath);
      shardFiles = [...new Set(Object.values(index.weightMap))].sort();
    }
    const tensors: SourceTensor[] = [];
    const shards: Array<{ file: string; size: number }> = [];
    // The index check compares names and sums byte spans; a pickled tensor's span is its materialised size.
    const headers = new Map<string, Pick<SafetensorsHeader, 'tensors'>>();
    for (const file of shardFiles) {
      const full = safeJoin(rawDir, file, 'weights file');
      const checkpoint = await readTorchCheckpoint(full);
      checkpoints.push(checkpoint);
      shards.push({ file, size: (await stat(full)).size });
      headers.set(file, { tensors: checkpoint.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: 0, end: t.byteLength, fileOffset: 0 })) });
      for (const info of checkpoint.tensors) tensors.push(torchTensor(checkpoint, file, info));
    }
    const warnings = index ? checkSafetensorsIndex(index, headers, indexPath).warnings : [];
    return {
      format: 'pytorch',
      files: sharded ? [PYTORCH_INDEX_FILE, ...shardFiles] : shardFiles,
      shards,
      tensors,
      warnings,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function torchTensor(checkpoint: TorchCheckpoint, file: string, info: TorchTensorInfo): SourceTensor {
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    file,
    byteLength: info.byteLength,
    chunks: (chunkBytes) => checkpoint.tensorChunks(info, { chunkBytes }),
  };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
