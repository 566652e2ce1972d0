// @ts-check
/**
 * The fetched safetensors checkpoint, headers only: which files hold it (index first when sharded) and every
 * tensor's name, dtype and shape. The headers are read strictly (model-import's reader refuses overlapping or
 * out-of-file offsets, duplicate names, unknown dtypes) and a shard index is checked against the shards, so what
 * is linked afterwards is a well-formed checkpoint. No tensor data is read.
 */
import { lstat } from 'node:fs/promises';
import { ModelImportError, SAFETENSORS_INDEX_FILE, readSafetensorsHeader, readShardedSafetensors, safeJoin } from 'model-import';

/**
 * @typedef {object} CheckpointTensor
 * @property {string} name
 * @property {string} dtype   safetensors dtype: BF16, F16, F32, ...
 * @property {number[]} shape
 * @property {string} file    the shard holding it, relative to the model folder
 */

/**
 * @typedef {object} Checkpoint
 * @property {string[]} files          weight files relative to the model folder, index first
 * @property {{ file: string, size: number }[]} shards   data files and their byte sizes
 * @property {CheckpointTensor[]} tensors
 * @property {string[]} warnings
 */

const SINGLE = 'model.safetensors';

/**
 * @param {string} rawDir
 * @returns {Promise<Checkpoint>}
 */
export async function readCheckpoint(rawDir) {
  if (await isFile(rawDir, SAFETENSORS_INDEX_FILE)) {
    const sharded = await readShardedSafetensors(safeJoin(rawDir, SAFETENSORS_INDEX_FILE, 'weights index'));
    const names = [...sharded.shards.keys()];
    return {
      files: [SAFETENSORS_INDEX_FILE, ...names],
      shards: names.map((file) => ({ file, size: /** @type {number} */ (sharded.shards.get(file)?.fileSize) })),
      tensors: names.flatMap((file) => (sharded.shards.get(file)?.tensors ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, file }))),
      warnings: sharded.warnings,
    };
  }
  if (await isFile(rawDir, SINGLE)) {
    const header = await readSafetensorsHeader(safeJoin(rawDir, SINGLE, 'weights file'));
    return {
      files: [SINGLE],
      shards: [{ file: SINGLE, size: header.fileSize }],
      tensors: header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, file: SINGLE })),
      warnings: [],
    };
  }
  throw new ModelImportError('CONVERSION_FAILED', `no safetensors weights were fetched (neither ${SAFETENSORS_INDEX_FILE} nor ${SINGLE})`, {
    hint: 'This adapter converts safetensors checkpoints only; pytorch_model*.bin needs an adapter that rewrites weights.',
  });
}

/**
 * lstat: a symlink among the fetched files is not followed (it could point anywhere on the machine).
 * @param {string} dir
 * @param {string} name
 */
async function isFile(dir, name) {
  try {
    return (await lstat(safeJoin(dir, name))).isFile();
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return false;
    throw error;
  }
}
