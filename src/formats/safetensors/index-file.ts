/**
 * model.safetensors.index.json (also the format of pytorch_model.bin.index.json):
 * `{"metadata": {"total_size": <bytes of tensor data>, ...}, "weight_map": {"<tensor>": "<shard file>", ...}}`.
 * Reading validates the file itself; checkSafetensorsIndex() validates it against the shard headers: every
 * tensor in exactly one shard, and the map and the union of the headers agree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, isModelImportError } from '../../kernel/errors.js';
import { checkRelativePath, safeJoin } from '../../util/safe-path.js';
import { badSafetensors } from './bad-file.js';
import { findDuplicateKey } from './find-duplicate-key.js';
import { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './read-header.js';

export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

export interface SafetensorsIndex {
  /** total_size (when present) is a non-negative integer; other keys are kept as they were. */
  metadata: Record<string, unknown>;
  /** Tensor name -> shard file, relative to the index's folder. */
  weightMap: Record<string, string>;
}

/** `model-00001-of-00003.safetensors` (1-based k), the transformers naming. */
export function shardFileName(k: number, n: number, prefix = 'model', extension = 'safetensors'): string {
  const pad = (value: number) => String(value).padStart(5, '0');
  return `${prefix}-${pad(k)}-of-${pad(n)}.${extension}`;
}

export function parseSafetensorsIndex(text: string, file: string = SAFETENSORS_INDEX_FILE): SafetensorsIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badSafetensors(file, `is not valid JSON (${error instanceof Error ? error.message.split('\n')[0] : error})`);
  }
  if (!isObject(parsed)) throw badSafetensors(file, 'is not a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw badSafetensors(file, `has the key ${JSON.stringify(duplicate.key)} twice${duplicate.path.length ? ` in ${duplicate.path.join('.')}` : ''}`);
  }
  const { metadata = {}, weight_map: weightMap } = parsed;
  if (!isObject(metadata)) throw badSafetensors(file, '"metadata" is not an object');
  const totalSize = metadata.total_size;
  if (totalSize !== undefined && !(typeof totalSize === 'number' && Number.isSafeInteger(totalSize) && totalSize >= 0)) {
    throw badSafetensors(file, `"metadata.total_size" is ${JSON.stringify(totalSize)}, not a byte count`);
  }
  if (!isObject(weightMap)) throw badSafetensors(file, '"weight_map" is missing or not an object');
  const map: Record<string, string> = {};
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw badSafetensors(file, `weight_map entry ${JSON.stringify(tensor)} is not a file name`);
    map[tensor] = checkRelativePath(shard, `shard file in ${path.basename(file)}`);
  }
  if (Object.keys(map).length === 0) throw badSafetensors(file, '"weight_map" lists no tensors');
  return { metadata: { ...metadata }, weightMap: map };
}

export async function readSafetensorsIndex(file: string): Promise<SafetensorsIndex> {
  return parseSafetensorsIndex(await readFile(file, 'utf8'), file);
}

/** Builds the index for shards just written (file = name relative to the index's folder). */
export function buildSafetensorsIndex(
  shards: ReadonlyArray<{ file: string; tensors: ReadonlyArray<Pick<SafetensorsTensorInfo, 'name' | 'begin' | 'end'>> }>,
  extraMetadata: Record<string, unknown> = {},
): SafetensorsIndex {
  let totalSize = 0;
  const weightMap: Record<string, string> = {};
  for (const shard of shards) {
    for (const tensor of shard.tensors) {
      if (tensor.name in weightMap) {
        throw new ModelImportError('CONVERSION_FAILED', `tensor ${JSON.stringify(tensor.name)} is planned in two shards`);
      }
      weightMap[tensor.name] = shard.file;
      totalSize += tensor.end - tensor.begin;
    }
  }
  return { metadata: { ...extraMetadata, total_size: totalSize }, weightMap };
}

/** The JSON text transformers writes: keys sorted, 2-space indent, trailing newline. */
export function serializeSafetensorsIndex(index: SafetensorsIndex): string {
  const sortKeys = (value: Record<string, unknown>) =>
    Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
  return `${JSON.stringify({ metadata: sortKeys(index.metadata), weight_map: sortKeys(index.weightMap) }, null, 2)}\n`;
}

export async function writeSafetensorsIndex(file: string, index: SafetensorsIndex): Promise<void> {
  await writeFile(file, serializeSafetensorsIndex(index));
}

export interface IndexCheck {
  /** Problems that do not stop loading (total_size disagreeing with the shards). */
  warnings: string[];
}

/**
 * Checks the index against the shard headers (keyed by the shard file names the weight_map uses). Throws
 * BAD_INPUT for the first disagreement, naming the tensor and the shards.
 */
export function checkSafetensorsIndex(
  index: SafetensorsIndex,
  shards: ReadonlyMap<string, Pick<SafetensorsHeader, 'tensors'>>,
  file: string = SAFETENSORS_INDEX_FILE,
): IndexCheck {
  for (const shard of new Set(Object.values(index.weightMap))) {
    if (!shards.has(shard)) throw badSafetensors(file, `lists shard ${shard}, which is missing`, 'Download the model again; a shard file is missing.');
  }
  const holder = new Map<string, string>();
  let totalSize = 0;
  for (const [shard, header] of shards) {
    for (const tensor of header.tensors) {
      const label = `tensor ${JSON.stringify(tensor.name)}`;
      const other = holder.get(tensor.name);
      if (other !== undefined) throw badSafetensors(file, `${label} appears in both ${other} and ${shard}`);
      holder.set(tensor.name, shard);
      const mapped = index.weightMap[tensor.name];
      if (mapped === undefined) throw badSafetensors(file, `${label} in ${shard} is missing from the weight_map`);
      if (mapped !== shard) throw badSafetensors(file, `${label} is in ${shard} but the weight_map says ${mapped}`);
      totalSize += tensor.end - tensor.begin;
    }
  }
  for (const [tensor, shard] of Object.entries(index.weightMap)) {
    if (!holder.has(tensor)) throw badSafetensors(file, `weight_map puts tensor ${JSON.stringify(tensor)} in ${shard}, which does not hold it`);
  }
  const warnings: string[] = [];
  const declared = index.metadata.total_size;
  if (typeof declared === 'number' && declared !== totalSize) {
    warnings.push(`${path.basename(file)}: metadata.total_size is ${declared} but the shards hold ${totalSize} bytes of tensor data`);
  }
  return { warnings };
}

export interface ShardedSafetensors {
  index: SafetensorsIndex;
  /** Shard file name (as in the weight_map) -> its validated header. */
  shards: Map<string, SafetensorsHeader>;
  warnings: string[];
}

/** Reads an index, every shard header it names (from the same folder), and checks they agree. */
export async function readShardedSafetensors(indexFile: string): Promise<ShardedSafetensors> {
  const index = await readSafetensorsIndex(indexFile);
  const folder = path.dirname(indexFile);
  const shards = new Map<string, SafetensorsHeader>();
  for (const shard of [...new Set(Object.values(index.weightMap))].sort()) {
    try {
      shards.set(shard, await readSafetensorsHeader(safeJoin(folder, shard, 'shard file')));
    } catch (error) {
      if (isModelImportError(error)) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw badSafetensors(indexFile, `lists shard ${shard}, which is missing`, 'Download the model again; a shard file is missing.');
      }
      throw error;
    }
  }
  const { warnings } = checkSafetensorsIndex(index, shards, indexFile);
  return { index, shards, warnings };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
