/**
 * The tensors of a model folder (single model.safetensors or shards + index), located by name. The graph builder
 * needs where each tensor's bytes sit; the reference pass needs them as float32. Headers are read with the
 * project's strict reader; bytes are read one tensor at a time, so a tiny model never holds more than it uses.
 */
import { readFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelImportError } from '../../../../src/index.js';
import { readSafetensorsHeader, type SafetensorsTensorInfo } from '../../../../src/formats/safetensors/index.js';

export type WeightDtype = 'BF16' | 'F16' | 'F32';

export interface WeightLocation {
  name: string;
  /** File name relative to the model folder, e.g. "model-00001-of-00002.safetensors". */
  fileName: string;
  dtype: WeightDtype;
  shape: number[];
  /** Absolute byte offset in the file (8 + N + begin) and byte length (end - begin). */
  fileOffset: number;
  byteLength: number;
}

const FLOAT_DTYPES = new Set<string>(['BF16', 'F16', 'F32']);
const ELEMENT_SIZE: Record<WeightDtype, number> = { BF16: 2, F16: 2, F32: 4 };

function missing(message: string, hint: string): never {
  throw new ModelImportError('BAD_INPUT', message, { hint });
}

/** The weight file names of a folder: the index's shards when there is an index, else model.safetensors. */
export async function discoverWeightFiles(modelDir: string): Promise<string[]> {
  let indexText: string | undefined;
  try {
    indexText = await readFile(join(modelDir, 'model.safetensors.index.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (indexText === undefined) return ['model.safetensors'];
  const index = JSON.parse(indexText) as { weight_map?: Record<string, string> };
  const files = [...new Set(Object.values(index.weight_map ?? {}))].sort();
  if (files.length === 0) missing('model.safetensors.index.json has an empty weight_map', 'Re-run the conversion.');
  for (const file of files) {
    if (file.includes('/') || file.includes('\\') || file.startsWith('.')) {
      missing(`model.safetensors.index.json names ${JSON.stringify(file)}, which is not a plain file name`, 'Re-run the conversion.');
    }
  }
  return files;
}

export class ModelWeights {
  private constructor(
    readonly modelDir: string,
    readonly files: readonly string[],
    private readonly byName: ReadonlyMap<string, WeightLocation>,
  ) {}

  static async open(modelDir: string, weightFiles?: readonly string[]): Promise<ModelWeights> {
    const files = weightFiles ? [...weightFiles] : await discoverWeightFiles(modelDir);
    const byName = new Map<string, WeightLocation>();
    for (const fileName of files) {
      const header = await readSafetensorsHeader(join(modelDir, fileName));
      for (const tensor of header.tensors) {
        if (byName.has(tensor.name)) {
          missing(`tensor ${tensor.name} appears in both ${byName.get(tensor.name)?.fileName} and ${fileName}`, 'Re-run the conversion.');
        }
        byName.set(tensor.name, locate(fileName, tensor));
      }
    }
    return new ModelWeights(modelDir, files, byName);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** Where a tensor lives; fails naming the tensor when it is absent or not a float tensor. */
  locate(name: string, expectedShape?: readonly number[]): WeightLocation {
    const found = this.byName.get(name);
    if (!found) missing(`the weights have no tensor ${name}`, 'The checkpoint does not match its config.json.');
    if (!FLOAT_DTYPES.has(found.dtype)) {
      missing(`tensor ${name} is ${found.dtype}; the forward pass reads BF16, F16 or F32`, 'Convert the weights to bf16, f16 or f32.');
    }
    if (expectedShape && (expectedShape.length !== found.shape.length || expectedShape.some((d, i) => d !== found.shape[i]))) {
      missing(
        `tensor ${name} has shape [${found.shape.join(', ')}], the config implies [${expectedShape.join(', ')}]`,
        'The checkpoint does not match its config.json.',
      );
    }
    return found;
  }

  /** The tensor widened to float32 (bf16 and f16 widen exactly). */
  async float32(name: string, expectedShape?: readonly number[]): Promise<Float32Array> {
    const where = this.locate(name, expectedShape);
    return this.read(where, 0, where.byteLength / ELEMENT_SIZE[where.dtype]);
  }

  /** `count` elements from element `start` of the tensor (row-major), widened to float32. */
  async float32Range(name: string, start: number, count: number): Promise<Float32Array> {
    const where = this.locate(name);
    const total = where.byteLength / ELEMENT_SIZE[where.dtype];
    if (start < 0 || count < 0 || start + count > total) {
      missing(`elements ${start}..${start + count} are outside tensor ${name} of ${total} elements`, 'This is a bug in the caller.');
    }
    return this.read(where, start, count);
  }

  private async read(where: WeightLocation, start: number, count: number): Promise<Float32Array> {
    const size = ELEMENT_SIZE[where.dtype];
    const bytes = new Uint8Array(count * size);
    const handle = await open(join(this.modelDir, where.fileName), 'r');
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, where.fileOffset + start * size + done);
        if (bytesRead === 0) missing(`${where.fileName} ended inside tensor ${where.name}`, 'The file is truncated.');
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return decodeFloats(bytes, where.dtype);
  }
}

function locate(fileName: string, tensor: SafetensorsTensorInfo): WeightLocation {
  return {
    name: tensor.name,
    fileName,
    dtype: tensor.dtype as WeightDtype,
    shape: [...tensor.shape],
    fileOffset: tensor.fileOffset,
    byteLength: tensor.end - tensor.begin,
  };
}

/** Little-endian bytes of one dtype to float32. `bytes` must start 4-byte aligned (a fresh buffer is). */
export function decodeFloats(bytes: Uint8Array, dtype: WeightDtype): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
    return out;
  }
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
