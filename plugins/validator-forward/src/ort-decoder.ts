/**
 * A decoder graph opened with onnxruntime-node, driven the way transformers.js drives it (reference/qwen-family.md
 * §7.4): input_ids / attention_mask / position_ids / past_key_values.N.key|value in, logits and present.N.* out.
 * The validator talks to the graph only through the names and shapes the session declares, so it knows no
 * architecture: an empty cache is built from the declared KV shapes exactly as transformers.js does
 * (`batch_size` -> batch, numbers kept, every other symbolic dim -> 0).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelImportError } from '../../../src/index.js';

export type KvCache = Record<string, Tensor>;

export interface StepResult {
  /** Row-major [batch, seq, vocab], float32. */
  logits: Float32Array;
  dims: [number, number, number];
  /** present.* renamed to the past_key_values.* inputs they feed. */
  cache: KvCache;
  ms: number;
}

interface TensorMeta {
  name: string;
  type: Tensor.Type;
  shape: ReadonlyArray<number | string>;
}

export class OrtDecoder {
  private constructor(
    readonly session: InferenceSession,
    /** past_key_values.* input name -> the present.* output that feeds it next step. */
    private readonly pastToPresent: ReadonlyMap<string, string>,
    private readonly pastMeta: readonly TensorMeta[],
    readonly createMs: number,
  ) {}

  static async open(graphPath: string, sessionOptions: Record<string, unknown> = {}): Promise<OrtDecoder> {
    const started = performance.now();
    const session = await InferenceSession.create(graphPath, sessionOptions as InferenceSession.SessionOptions);
    const createMs = performance.now() - started;
    const inputs = metadata(session.inputMetadata);
    const missing = ['input_ids', 'logits'].filter((n) => !session.inputNames.includes(n) && !session.outputNames.includes(n));
    if (missing.length > 0) {
      await session.release();
      throw graphError(`the graph declares no ${missing.join(' / ')}`);
    }
    const pastMeta = inputs.filter((m) => m.name.startsWith('past_key_values'));
    const pastToPresent = new Map<string, string>();
    for (const past of pastMeta) {
      const present = past.name.replace(/^past_key_values/, 'present');
      if (!session.outputNames.includes(present)) {
        await session.release();
        throw graphError(`input ${past.name} has no matching output ${present}`);
      }
      pastToPresent.set(past.name, present);
    }
    return new OrtDecoder(session, pastToPresent, pastMeta, createMs);
  }

  get hasCache(): boolean {
    return this.pastMeta.length > 0;
  }

  /** Zero-length past tensors, shaped from the session's declared inputs (what transformers.js does). */
  emptyCache(batch: number): KvCache {
    const cache: KvCache = {};
    for (const meta of this.pastMeta) {
      const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : d === 'batch_size' ? batch : 0));
      cache[meta.name] =
        meta.type === 'float16' ? new Tensor('float16', new Uint16Array(0), shape) : new Tensor('float32', new Float32Array(0), shape);
    }
    return cache;
  }

  /**
   * One forward call. `mask` covers past + new tokens ([batch, past+seq]); position ids are cumsum(mask) - 1 with
   * padded slots set to 1, the last `seq` kept (transformers.js `create_position_ids`).
   */
  async step(ids: number[][], mask: number[][], cache?: KvCache): Promise<StepResult> {
    const batch = ids.length;
    const seq = ids[0].length;
    const feeds: Record<string, Tensor> = {
      input_ids: int64Tensor(ids, [batch, seq]),
    };
    const names = this.session.inputNames;
    if (names.includes('attention_mask')) feeds.attention_mask = int64Tensor(mask, [batch, mask[0].length]);
    if (names.includes('position_ids')) feeds.position_ids = int64Tensor(positionIds(mask, seq), [batch, seq]);
    if (names.includes('num_logits_to_keep')) feeds.num_logits_to_keep = new Tensor('int64', new BigInt64Array([0n]), []);
    Object.assign(feeds, cache ?? this.emptyCache(batch));

    const started = performance.now();
    const outputs = await this.session.run(feeds);
    const ms = performance.now() - started;

    const logitsTensor = outputs.logits;
    const dims = logitsTensor.dims as number[];
    if (dims.length !== 3) throw graphError(`logits have shape [${dims.join(', ')}], expected [batch, seq, vocab]`);
    const logits = toFloat32(logitsTensor);
    const next: KvCache = {};
    for (const [past, present] of this.pastToPresent) next[past] = outputs[present];
    for (const [name, tensor] of Object.entries(outputs)) if (name !== 'logits' && !name.startsWith('present')) tensor.dispose();
    return { logits, dims: [dims[0], dims[1], dims[2]], cache: next, ms };
  }

  async release(): Promise<void> {
    await this.session.release();
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
  if (tensor.type === 'float16') {
    const halves = tensor.data as Uint16Array;
    const out = new Float32Array(halves.length);
    for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
    return out;
  }
  throw graphError(`logits are ${tensor.type}, expected float32 or float16`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function metadata(list: readonly InferenceSession.ValueMetadata[]): TensorMeta[] {
  return list.flatMap((m) => (m.isTensor ? [{ name: m.name, type: m.type, shape: m.shape }] : []));
}

function graphError(what: string): ModelImportError {
  return new ModelImportError('VALIDATION_FAILED', `The decoder graph does not follow the decoder conventions: ${what}.`, {
    hint: 'The architecture adapter built this graph; report it to its author.',
  });
}
