/**
 * One call of a decoder graph, the way transformers.js drives it (reference/qwen-family.md §7.4): input_ids /
 * attention_mask / position_ids / past_key_values.N.key|value in, logits and present.N.* out; linear-attention
 * layers' fixed-size states past_conv.N / past_recurrent.N in and present_conv.N / present_recurrent.N out. Shared by the
 * whole-graph decoder and the segmented (bounded-memory) one, which differ only in how a call is executed.
 *
 * The validator knows no architecture: it builds feeds from the names and shapes the graph declares. An empty
 * cache is shaped exactly as transformers.js shapes it (`batch_size` -> batch, numbers kept, other names -> 0) and
 * filled with zeros (no elements for a KV cache; an all-zero state, "no history", for the recurrent ones).
 */
import { Tensor } from 'onnxruntime-node';
import { ModelImportError, f16ToF32 } from '../../../src/index.js';
import { batchRows } from './batch-rows.js';
import { KeptTensor, type HostTensor } from './onnx-process.js';

/** A cache tensor is here, or kept where the session lives (the whole-graph decoder keeps its cache there). */
export type KvCache = Record<string, HostTensor>;

export interface DecoderCall {
  ids: number[][];
  /** [batch, past + seq]: 1 = real token, 0 = padding. */
  mask: number[][];
  /**
   * The past: absent = empty cache; a KvCache from an earlier result; or the index of an earlier call of the same
   * run() whose present.* this call continues from (a segmented decoder resolves it layer by layer).
   */
  past?: KvCache | number;
  /** Only these batch rows [from, to) of the logits are needed (a decoder may return just them, or all rows). */
  logitsRows?: readonly [number, number];
}

export interface StepResult {
  /** Row-major [batch, seq, vocab], float32. */
  logits: Float32Array;
  dims: [number, number, number];
  /** present.* renamed to the past_key_values.* inputs they feed. */
  cache: KvCache;
}

export interface Decoder {
  readonly hasCache: boolean;
  /** Session creation time so far (all sessions, for a segmented decoder). */
  readonly createMs: number;
  /** Runs the calls in order; a call may continue from an earlier call's cache (DecoderCall.past as an index). */
  run(calls: readonly DecoderCall[]): Promise<StepResult[]>;
  /** Batch rows [from, to) of a cache this decoder returned (to continue one row of a batched call). */
  cacheRows(cache: KvCache, from: number, to: number): Promise<KvCache>;
  release(): Promise<void>;
}

/** The tensors themselves, for decoders whose feeds never hold kept tensors (segments, layer slices). */
export function tensorsHere(feeds: Readonly<Record<string, HostTensor>>): Record<string, Tensor> {
  for (const [name, tensor] of Object.entries(feeds)) {
    if (tensor instanceof KeptTensor) throw new Error(`${name} is kept in the onnxruntime process, not here`);
  }
  return feeds as Record<string, Tensor>;
}

/** Batch rows [from, to) of a cache whose tensors are here (not kept elsewhere). */
export function cacheRowsHere(cache: KvCache, from: number, to: number): KvCache {
  return Object.fromEntries(Object.entries(tensorsHere(cache)).map(([name, tensor]) => [name, batchRows(tensor, from, to)]));
}

export interface TensorMeta {
  name: string;
  type: Tensor.Type;
  shape: ReadonlyArray<number | string>;
}

/** What a decoder graph declares, and the KV pairing checked once. */
export class DecoderSignature {
  /** past_key_values.* / past_conv.* / past_recurrent.* input -> the present output that feeds it next step. */
  readonly pastToPresent: ReadonlyMap<string, string>;
  readonly pastInputs: readonly TensorMeta[];
  private readonly emptyCaches = new Map<number, KvCache>();

  constructor(
    readonly inputs: readonly TensorMeta[],
    readonly outputNames: readonly string[],
  ) {
    const names = inputs.map((m) => m.name);
    const missing = [names.includes('input_ids') ? '' : 'input_ids', outputNames.includes('logits') ? '' : 'logits'].filter(Boolean);
    if (missing.length > 0) throw graphError(`it declares no ${missing.join(' / ')}`);
    this.pastInputs = inputs.filter((m) => /^past_(key_values|conv|recurrent)\./.test(m.name));
    const pairs = new Map<string, string>();
    for (const past of this.pastInputs) {
      const present = past.name.startsWith('past_key_values') ? past.name.replace(/^past_key_values/, 'present') : past.name.replace(/^past_/, 'present_');
      if (!outputNames.includes(present)) throw graphError(`input ${past.name} has no matching output ${present}`);
      pairs.set(past.name, present);
    }
    this.pastToPresent = pairs;
  }

  has(name: string): boolean {
    return this.inputs.some((m) => m.name === name);
  }

  /**
   * The feeds of one call, except a past given as a call index (the caller resolves those). Position ids are
   * cumsum(mask) - 1 with padded slots set to 1, the last `seq` kept (transformers.js `create_position_ids`).
   */
  feeds(call: DecoderCall): Record<string, HostTensor> {
    const batch = call.ids.length;
    const seq = call.ids[0].length;
    const feeds: Record<string, HostTensor> = { input_ids: int64Tensor(call.ids, [batch, seq]) };
    if (this.has('attention_mask')) feeds.attention_mask = int64Tensor(call.mask, [batch, call.mask[0].length]);
    if (this.has('position_ids')) feeds.position_ids = int64Tensor(positionIds(call.mask, seq), [batch, seq]);
    if (this.has('num_logits_to_keep')) feeds.num_logits_to_keep = new Tensor('int64', new BigInt64Array([0n]), []);
    if (call.past === undefined) Object.assign(feeds, this.emptyCache(batch));
    else if (typeof call.past !== 'number') Object.assign(feeds, call.past);
    return feeds;
  }

  /**
   * Zero-length past tensors, shaped from the declared inputs (what transformers.js does on the first step). One
   * set per batch size, shared by every call (never written to): a Gated DeltaNet state is zeros of full size,
   * 1 MB per layer and call for Qwen3.5-0.8B.
   */
  emptyCache(batch: number): KvCache {
    const known = this.emptyCaches.get(batch);
    if (known) return known;
    const cache: KvCache = {};
    this.emptyCaches.set(batch, cache);
    for (const meta of this.pastInputs) {
      const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : d === 'batch_size' ? batch : 0));
      const size = shape.reduce((a, b) => a * b, 1);
      cache[meta.name] =
        meta.type === 'float16' ? new Tensor('float16', new Uint16Array(size), shape) : new Tensor('float32', new Float32Array(size), shape);
    }
    return cache;
  }

  /** The logits and the next cache from a call's outputs. */
  result(outputs: Readonly<Record<string, HostTensor>>): StepResult {
    const logitsTensor = outputs.logits;
    if (!(logitsTensor instanceof Tensor)) throw new Error('the logits were kept in the onnxruntime process');
    const dims = logitsTensor.dims as number[];
    if (dims.length !== 3) throw graphError(`logits have shape [${dims.join(', ')}], expected [batch, seq, vocab]`);
    const cache: KvCache = {};
    for (const [past, present] of this.pastToPresent) cache[past] = outputs[present];
    return { logits: toFloat32(logitsTensor), dims: [dims[0], dims[1], dims[2]], cache };
  }
}

export function positionIds(mask: number[][], seq: number): number[][] {
  return mask.map((row) => {
    let sum = 0;
    const positions = row.map((m) => {
      sum += m;
      return m === 0 ? 1 : sum - 1;
    });
    return positions.slice(positions.length - seq);
  });
}

function int64Tensor(rows: number[][], dims: number[]): Tensor {
  const data = new BigInt64Array(dims.reduce((a, b) => a * b, 1));
  let k = 0;
  for (const row of rows) for (const value of row) data[k++] = BigInt(value);
  return new Tensor('int64', data, dims);
}

function toFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return f16ToF32(tensor.data as Uint16Array);
  throw graphError(`logits are ${tensor.type}, expected float32 or float16`);
}

export function graphError(what: string): ModelImportError {
  return new ModelImportError('VALIDATION_FAILED', `the graph does not follow the decoder conventions: ${what}`, {
    hint: 'The architecture adapter built this graph; report it to its author.',
  });
}
