/**
 * Reads a PyTorch zip checkpoint (torch.save of a state dict, as in pytorch_model*.bin) without executing any
 * pickle code: our zip reader finds `<archive>/data.pkl`, our pickle VM turns it into tensor references, and
 * tensor bytes are read from `<archive>/data/<key>` with positional reads.
 */
import { constants as bufferConstants } from 'node:buffer';
import { dtypeElementSize, type SafetensorsDtype } from '../safetensors/dtypes.js';
import { badCheckpoint } from './bad-checkpoint.js';
import { describe, loadPickle, PickleDict, type TensorRef } from './pickle-vm.js';
import { ZipArchive, type ZipEntry } from './zip-reader.js';

export interface TorchTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** In elements. */
  stride: number[];
  /** In elements, into the storage. */
  storageOffset: number;
  storageKey: string;
  storageNumel: number;
  /** Row-major packed (stride is the contiguous stride, ignoring size-1 and empty dims). */
  contiguous: boolean;
  /** Bytes of the tensor once materialised (numel x element size). */
  byteLength: number;
}

export interface TorchCheckpoint {
  file: string;
  /** In the checkpoint's (state dict) order. */
  tensors: TorchTensorInfo[];
  /** Row-major bytes of one tensor; non-contiguous views are materialised. */
  readTensorBytes(tensor: TorchTensorInfo): Promise<Uint8Array>;
  /** The same bytes in chunks of at most chunkBytes (whole elements), for large tensors. */
  tensorChunks(tensor: TorchTensorInfo, options?: { chunkBytes?: number }): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

export interface ReadTorchCheckpointOptions {
  /** Largest data.pkl accepted (default 64 MiB; a state dict's pickle is kilobytes). */
  maxPickleBytes?: number;
}

export async function readTorchCheckpoint(file: string, options: ReadTorchCheckpointOptions = {}): Promise<TorchCheckpoint> {
  const zip = await ZipArchive.open(file);
  try {
    const { tensors, storages } = await parseCheckpoint(zip, file, options);
    return makeCheckpoint(zip, file, tensors, storages);
  } catch (error) {
    await zip.close();
    throw error;
  }
}

async function parseCheckpoint(zip: ZipArchive, file: string, options: ReadTorchCheckpointOptions) {
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw badCheckpoint(file, pickles.length === 0 ? 'has no <archive>/data.pkl: not a PyTorch checkpoint' : 'holds more than one data.pkl');
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  for (const name of zip.entries.keys()) {
    if (!name.startsWith(prefix)) throw badCheckpoint(file, `zip entry ${name} lies outside the checkpoint's ${prefix} folder`);
  }
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await zip.readEntry(byteorder, 16));
    if (order !== 'little') throw badCheckpoint(file, `stores tensors in ${JSON.stringify(order)} byte order: only little-endian is supported`);
  }
  const pickle = await zip.readEntry(zip.entries.get(pickles[0])!, options.maxPickleBytes ?? 64 << 20);
  let root: unknown;
  try {
    root = loadPickle(pickle, file, pickles[0]);
  } catch (error) {
    // Structures built to exhaust the reader (lists nested past the stack, self-references that cannot become
    // text, arrays past the engine's length) are hostile input, not a bug in model-import.
    if (error instanceof RangeError || error instanceof TypeError) throw badCheckpoint(file, `${pickles[0]} builds a structure no checkpoint has (${error.message}): refused, nothing executed`);
    throw error;
  }
  if (!(root instanceof PickleDict)) {
    throw badCheckpoint(file, 'does not hold a state dict (a dict of tensors) at its top level', 'Only checkpoints saved as state dicts (what save_pretrained writes) are supported.');
  }

  const tensors: TorchTensorInfo[] = [];
  const storages = new Map<string, ZipEntry>();
  for (const [name, value] of root.map) {
    if (typeof name !== 'string') throw badCheckpoint(file, `has a state-dict key ${describe(name)} that is not a string`);
    if (!(typeof value === 'object' && value !== null && (value as TensorRef).kind === 'tensor')) {
      throw badCheckpoint(file, `entry ${JSON.stringify(name)} is not a tensor`);
    }
    const ref = value as TensorRef;
    const label = `tensor ${JSON.stringify(name)}`;
    const elementSize = dtypeElementSize(ref.storage.dtype) as number;
    const entryName = `${prefix}data/${ref.storage.key}`;
    const entry = zip.entries.get(entryName);
    if (!entry) throw badCheckpoint(file, `${label} refers to storage ${ref.storage.key}, which the archive does not hold`);
    if (entry.size !== ref.storage.numel * elementSize) {
      throw badCheckpoint(file, `storage ${ref.storage.key} holds ${entry.size} bytes but is declared as ${ref.storage.numel} ${ref.storage.dtype} elements`);
    }
    storages.set(ref.storage.key, entry);
    let numel = 1n;
    let lastIndex = BigInt(ref.storageOffset);
    for (let d = 0; d < ref.shape.length; d++) {
      numel *= BigInt(ref.shape[d]);
      if (ref.shape[d] > 0) lastIndex += BigInt(ref.shape[d] - 1) * BigInt(ref.stride[d]);
    }
    if (numel > 0n && lastIndex >= BigInt(ref.storage.numel)) {
      throw badCheckpoint(file, `${label} reaches element ${lastIndex} of storage ${ref.storage.key}, which has ${ref.storage.numel}`);
    }
    const count = Number(numel);
    tensors.push({
      name,
      dtype: ref.storage.dtype,
      shape: [...ref.shape],
      stride: [...ref.stride],
      storageOffset: ref.storageOffset,
      storageKey: ref.storage.key,
      storageNumel: ref.storage.numel,
      contiguous: isContiguous(ref.shape, ref.stride),
      byteLength: count * elementSize,
    });
  }
  return { tensors, storages };
}

/** PyTorch's is_contiguous: strides of dims with size > 1 must be the packed row-major ones. */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 0) return true;
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function makeCheckpoint(zip: ZipArchive, file: string, tensors: TorchTensorInfo[], storages: Map<string, ZipEntry>): TorchCheckpoint {
  const entryOf = (tensor: TorchTensorInfo) => {
    const entry = storages.get(tensor.storageKey);
    if (!entry || !tensors.includes(tensor)) throw badCheckpoint(file, `tensor ${JSON.stringify(tensor.name)} does not belong to this checkpoint`);
    return entry;
  };
  const elementSize = (tensor: TorchTensorInfo) => dtypeElementSize(tensor.dtype) as number;

  const readTensorBytes = async (tensor: TorchTensorInfo): Promise<Uint8Array> => {
    const entry = entryOf(tensor);
    const size = elementSize(tensor);
    if (tensor.byteLength > bufferConstants.MAX_LENGTH) {
      throw badCheckpoint(file, `tensor ${JSON.stringify(tensor.name)} is too large for one buffer; read it with tensorChunks()`);
    }
    if (tensor.byteLength === 0) return new Uint8Array(0);
    if (tensor.contiguous) return zip.readRange(entry, tensor.storageOffset * size, tensor.byteLength);
    // Non-contiguous view (transposed, sliced, expanded): read the span it touches, then gather row-major.
    let last = tensor.storageOffset;
    for (let d = 0; d < tensor.shape.length; d++) last += (tensor.shape[d] - 1) * tensor.stride[d];
    const spanBytes = (last - tensor.storageOffset + 1) * size;
    if (spanBytes > bufferConstants.MAX_LENGTH) throw badCheckpoint(file, `tensor ${JSON.stringify(tensor.name)} is a view spanning too much storage to materialise`);
    const span = await zip.readRange(entry, tensor.storageOffset * size, spanBytes);
    return gather(span, tensor.shape, tensor.stride, size);
  };

  async function* tensorChunks(tensor: TorchTensorInfo, options: { chunkBytes?: number } = {}): AsyncGenerator<Uint8Array> {
    const entry = entryOf(tensor);
    const size = elementSize(tensor);
    const wanted = Math.max(options.chunkBytes ?? 4 << 20, size);
    const chunk = wanted - (wanted % size);
    if (!tensor.contiguous) {
      const whole = await readTensorBytes(tensor);
      for (let at = 0; at < whole.length; at += chunk) yield whole.slice(at, at + chunk);
      return;
    }
    const start = tensor.storageOffset * size;
    for (let at = 0; at < tensor.byteLength; at += chunk) {
      yield await zip.readRange(entry, start + at, Math.min(chunk, tensor.byteLength - at));
    }
  }

  return { file, tensors, readTensorBytes, tensorChunks, close: () => zip.close() };
}

/** Copies a strided view (offsets relative to span start) into a packed row-major buffer. */
function gather(span: Uint8Array, shape: readonly number[], stride: readonly number[], size: number): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * size);
  const index = new Array<number>(shape.length).fill(0);
  let source = 0;
  for (let k = 0; k < count; k++) {
    out.set(span.subarray(source * size, source * size + size), k * size);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      source += stride[d];
      if (index[d] < shape[d]) break;
      source -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
