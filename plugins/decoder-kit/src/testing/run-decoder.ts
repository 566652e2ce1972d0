/**
 * Test tooling: one onnxruntime call of the decoder graph with the feeds transformers.js would build
 * (position_ids = cumsum(mask) - 1 with pads -> 1, keeping the last S, when the graph takes them; an empty KV
 * cache and all-zero recurrent states on the first step, shaped from the input metadata as transformers.js does:
 * batch_size is the batch, any other symbolic dim 0).
 */
import ort from 'onnxruntime-node';
import { positionIdsFromMask } from '../reference/forward-dims.js';

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

export interface DecoderStep {
  inputIds: number[][];
  /** Over past + new tokens; all ones when absent. */
  attentionMask?: number[][];
  /** The previous step's cache (present.* renamed to past_*); empty cache when absent. */
  past?: Record<string, ort.Tensor>;
}

export interface DecoderStepResult {
  logits: Float32Array;
  dims: number[];
  /** present.* / present_conv.* / present_recurrent.* renamed to the past_* inputs they feed next step. */
  cache: Record<string, ort.Tensor>;
}

const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

export async function runDecoder(session: ort.InferenceSession, kv: KvShape, step: DecoderStep): Promise<DecoderStepResult> {
  const batch = step.inputIds.length;
  const seq = step.inputIds[0].length;
  const firstKv = Object.keys(step.past ?? {}).find((name) => name.startsWith('past_key_values.'));
  const pastLen = firstKv ? (step.past![firstKv].dims[2] as number) : 0;
  const mask = step.attentionMask ?? step.inputIds.map(() => new Array<number>(pastLen + seq).fill(1));
  const feeds: Record<string, ort.Tensor> = { input_ids: int64(step.inputIds), attention_mask: int64(mask) };
  if (session.inputNames.includes('position_ids')) feeds.position_ids = int64(mask.map((row) => positionIdsFromMask(row).slice(-seq)));
  Object.assign(feeds, emptyCache(session, batch, kv), step.past);
  const out = await session.run(feeds);
  const cache: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(out)) {
    if (name.startsWith('present.')) cache[name.replace('present.', 'past_key_values.')] = value;
    else if (name.startsWith('present_')) cache[name.replace('present_', 'past_')] = value;
  }
  return { logits: out.logits.data as Float32Array, dims: [...out.logits.dims], cache };
}

/** The first step's cache inputs: zeros shaped from the input metadata (batch_size -> batch, other symbols 0). */
export function emptyCache(session: ort.InferenceSession, batch: number, kv?: KvShape): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.name.startsWith('past_')) continue;
    const shape = meta.isTensor ? meta.shape.map((d) => (d === 'batch_size' ? batch : typeof d === 'number' ? d : 0)) : [batch, kv?.kvHeads ?? 0, 0, kv?.headDim ?? 0];
    feeds[meta.name] = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  }
  return feeds;
}

/** Largest |a - b| over the positions where `keep(b, s)` holds; arrays are [B, S, V]. */
export function maxAbsDiff(a: Float32Array, b: Float32Array, dims: readonly number[], keep: (b: number, s: number) => boolean = () => true): number {
  const [B, S, V] = dims;
  let max = 0;
  for (let i = 0; i < B; i++) {
    for (let s = 0; s < S; s++) {
      if (!keep(i, s)) continue;
      const o = (i * S + s) * V;
      for (let v = 0; v < V; v++) {
        const d = Math.abs(a[o + v] - b[o + v]);
        if (Number.isNaN(d)) return NaN;
        if (d > max) max = d;
      }
    }
  }
  return max;
}

/** Row s of batch entry b of a [B, S, V] array. */
export function logitsRow(logits: Float32Array, dims: readonly number[], b: number, s: number): Float32Array {
  const [, S, V] = dims;
  return logits.subarray((b * S + s) * V, (b * S + s + 1) * V);
}
