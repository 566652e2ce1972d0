/**
 * Plans a safetensors file from tensor names, dtypes and shapes alone, so the header can be written before any
 * tensor data exists (a conversion then streams the data in the planned order). Mirrors the official writer:
 * tensors sorted by descending dtype alignment rank then by name, packed back to back, `__metadata__` first,
 * header padded with spaces to a multiple of 8 bytes, headers above 100 MB refused.
 */
import { cannotWrite } from './bad-file.js';
import { dtypeAlignmentRank, isSafetensorsDtype, tensorByteSize, type SafetensorsDtype } from './dtypes.js';
import { MAX_HEADER_LENGTH, type SafetensorsTensorInfo } from './read-header.js';

export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype | string;
  shape: readonly number[];
}

export interface SafetensorsPlan {
  /** The first dataStart bytes of the file: 8-byte length + padded JSON header. */
  prefix: Uint8Array;
  headerLength: number;
  dataStart: number;
  /** In write (= offset) order. */
  tensors: SafetensorsTensorInfo[];
  /** order[k] is the index in the input of the k-th tensor written. */
  order: number[];
  fileSize: number;
}

const encoder = new TextEncoder();

export function planSafetensors(
  specs: readonly TensorSpec[],
  metadata: Record<string, string> | undefined,
  file: string,
): SafetensorsPlan {
  const seen = new Set<string>();
  const sizes: number[] = [];
  specs.forEach((spec, index) => {
    const label = `tensor ${JSON.stringify(spec.name)}`;
    if (typeof spec.name !== 'string' || spec.name === '__metadata__') {
      throw cannotWrite(file, `${label} is not a usable tensor name`);
    }
    if (seen.has(spec.name)) throw cannotWrite(file, `${label} is given twice`);
    seen.add(spec.name);
    if (!isSafetensorsDtype(spec.dtype)) throw cannotWrite(file, `${label} has unknown dtype ${JSON.stringify(spec.dtype)}`);
    if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw cannotWrite(file, `${label} shape ${JSON.stringify(spec.shape)} is not a list of non-negative integers`);
    }
    const size = tensorByteSize(spec.dtype, spec.shape);
    if (size === undefined) throw cannotWrite(file, `${label} of ${spec.dtype} is not a whole number of bytes`);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw cannotWrite(file, `${label} needs ${size} bytes`);
    sizes[index] = Number(size);
  });
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw cannotWrite(file, `__metadata__ ${JSON.stringify(key)} is not a string`);
    }
  }

  // Names compare as UTF-8 bytes, as Rust orders Strings (UTF-16 code-unit order differs above U+FFFF).
  const keys = specs.map((spec) => Buffer.from(spec.name, 'utf8'));
  const order = specs.map((_, index) => index);
  order.sort((a, b) => {
    const rank = dtypeAlignmentRank(specs[b].dtype as SafetensorsDtype) - dtypeAlignmentRank(specs[a].dtype as SafetensorsDtype);
    return rank !== 0 ? rank : Buffer.compare(keys[a], keys[b]);
  });

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  const ranges: Array<[number, number]> = [];
  for (const index of order) {
    const spec = specs[index];
    const begin = offset;
    offset += sizes[index];
    if (!Number.isSafeInteger(offset)) throw cannotWrite(file, 'total tensor size overflows');
    ranges.push([begin, offset]);
    parts.push(
      `${JSON.stringify(spec.name)}:{"dtype":${JSON.stringify(spec.dtype)},"shape":[${spec.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_LENGTH) {
    throw cannotWrite(file, `header would be ${headerLength} bytes, above the ${MAX_HEADER_LENGTH}-byte limit readers accept`);
  }
  const dataStart = 8 + headerLength;
  const prefix = new Uint8Array(dataStart).fill(0x20, 8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
  prefix.set(json, 8);
  const tensors = order.map((index, k): SafetensorsTensorInfo => {
    const [begin, end] = ranges[k];
    const spec = specs[index];
    return { name: spec.name, dtype: spec.dtype as SafetensorsDtype, shape: [...spec.shape], begin, end, fileOffset: dataStart + begin };
  });
  return { prefix, headerLength, dataStart, tensors, order, fileSize: dataStart + offset };
}
