/**
 * Strict safetensors header reader (reference/qwen-family.md §6). It enforces everything the official Rust reader
 * enforces, plus what that reader lets slip (duplicate tensor names), and reads only the header with positional
 * reads: a 10 GB shard costs two small reads, and offsets beyond 4 GiB are plain safe integers.
 */
import { open } from 'node:fs/promises';
import { badSafetensors } from './bad-file.js';
import { isSafetensorsDtype, tensorByteSize, type SafetensorsDtype } from './dtypes.js';
import { findDuplicateKey } from './find-duplicate-key.js';
import { readFully } from './read-fully.js';

/** Same limit as the official library (MAX_HEADER_SIZE): checked before anything is allocated. */
export const MAX_HEADER_LENGTH = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Offsets relative to the start of the data buffer, end exclusive (as in the file). */
  begin: number;
  end: number;
  /** Absolute file offset of the first byte: dataStart + begin (what ONNX external data needs). */
  fileOffset: number;
}

export interface SafetensorsHeader {
  file: string;
  /** N, the header's byte length including padding. */
  headerLength: number;
  /** 8 + N: where the data buffer starts. */
  dataStart: number;
  /** Sorted by offset. */
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string>;
  fileSize: number;
}

/** Reads and validates the header of a safetensors file. Throws BAD_INPUT naming the file and the problem. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await open(file, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const prefix = new Uint8Array(Math.min(8, fileSize));
    await readFully(handle, prefix, 0, file);
    const headerLength = parseHeaderLength(prefix, fileSize, file);
    const headerBytes = new Uint8Array(headerLength);
    await readFully(handle, headerBytes, 8, file);
    return parseSafetensorsHeader(headerBytes, fileSize, file);
  } finally {
    await handle.close();
  }
}

/**
 * Validates the 8-byte length prefix against the file size and returns N. Exposed so a caller that fetches the
 * header over HTTP (ranged reads) can apply the same checks before fetching N bytes.
 */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw badSafetensors(file, `file is ${fileSize} bytes, too small to hold the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    throw badSafetensors(file, `header length ${n} exceeds the ${MAX_HEADER_LENGTH}-byte limit`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) {
    throw badSafetensors(file, `header length ${headerLength} runs past the end of the ${fileSize}-byte file`);
  }
  return headerLength;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Validates the N header bytes (without the 8-byte prefix) of a file of fileSize bytes and returns its tensors
 * sorted by offset. Pure: usable on bytes fetched from anywhere.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLength = headerBytes.length;
  const dataStart = 8 + headerLength;
  let text: string;
  try {
    text = decoder.decode(headerBytes);
  } catch {
    throw badSafetensors(file, 'header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw badSafetensors(file, `header is not valid JSON (${why})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badSafetensors(file, `header is JSON ${Array.isArray(parsed) ? 'array' : typeof parsed}, not an object`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    const key = JSON.stringify(duplicate.key);
    const where = duplicate.path.map((p) => JSON.stringify(p)).join('.');
    throw badSafetensors(file, duplicate.path.length === 0 ? `duplicate tensor name ${key} in the header` : `duplicate key ${key} in ${where}`);
  }

  const entries = parsed as Record<string, unknown>;
  const metadata = parseMetadata(entries.__metadata__, file);
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, value] of Object.entries(entries)) {
    if (name === '__metadata__') continue;
    tensors.push(parseEntry(name, value, dataStart, file));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);

  let expected = 0;
  let previous: string | undefined;
  for (const tensor of tensors) {
    const label = `tensor ${JSON.stringify(tensor.name)}`;
    if (tensor.begin < expected) {
      throw badSafetensors(file, `${label} data_offsets [${tensor.begin}, ${tensor.end}] overlap tensor ${JSON.stringify(previous)}`);
    }
    if (tensor.begin > expected) {
      const after = previous === undefined ? 'at the start of the data' : `after tensor ${JSON.stringify(previous)}`;
      throw badSafetensors(file, `${label} starts at ${tensor.begin}, leaving a gap of ${tensor.begin - expected} bytes ${after}`);
    }
    const needed = tensorByteSize(tensor.dtype, tensor.shape);
    const shapeText = `shape [${tensor.shape.join(', ')}]`;
    if (needed === undefined) {
      throw badSafetensors(file, `${label} ${shapeText} of ${tensor.dtype} is not a whole number of bytes`);
    }
    if (needed !== BigInt(tensor.end - tensor.begin)) {
      const huge = needed > BigInt(Number.MAX_SAFE_INTEGER) ? ' (overflows any real file)' : '';
      throw badSafetensors(
        file,
        `${label} ${shapeText} of ${tensor.dtype} needs ${needed} bytes${huge} but data_offsets [${tensor.begin}, ${tensor.end}] span ${tensor.end - tensor.begin}`,
      );
    }
    expected = tensor.end;
    previous = tensor.name;
  }
  const expectedSize = dataStart + expected;
  if (expectedSize < fileSize) {
    throw badSafetensors(file, `${fileSize - expectedSize} trailing bytes after the last tensor (file is ${fileSize} bytes, header accounts for ${expectedSize})`);
  }
  if (expectedSize > fileSize) {
    throw badSafetensors(
      file,
      `tensor ${JSON.stringify(previous)} ends at byte ${expectedSize} but the file has only ${fileSize} bytes (truncated?)`,
      'The file is incomplete: download it again.',
    );
  }
  return { file, headerLength, dataStart, tensors, metadata, fileSize };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === undefined || value === null) return metadata;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badSafetensors(file, '__metadata__ must be an object of string values');
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw badSafetensors(file, `__metadata__ ${JSON.stringify(key)} is ${describe(item)}, not a string`);
    }
    metadata[key] = item;
  }
  return metadata;
}

function parseEntry(name: string, value: unknown, dataStart: number, file: string): SafetensorsTensorInfo {
  const label = `tensor ${JSON.stringify(name)}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badSafetensors(file, `${label} is ${describe(value)}, not an object with dtype, shape and data_offsets`);
  }
  // Unknown extra fields are ignored, as the official reader does; refusing them would reject files PyTorch loads.
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw badSafetensors(file, `${label} has unknown dtype ${JSON.stringify(dtype) ?? 'undefined'}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw badSafetensors(file, `${label} shape ${short(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw badSafetensors(file, `${label} data_offsets ${short(offsets)} is not two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw badSafetensors(file, `${label} data_offsets [${begin}, ${end}] end before they begin`);
  return { name, dtype, shape: shape.map((d: number) => d + 0) /* -0 -> 0 */, begin, end, fileOffset: dataStart + begin };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? 'missing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
