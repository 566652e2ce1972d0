/**
 * The attention core of the reference forward: causal + padding masked softmax(q·kᵀ / sqrt(D)) · v for the new
 * queries over cached and new keys, query heads grouped by KV head (repeat_interleave, not tiling), scores rounded
 * to float32 as the graph computes them, sums in float64.
 */
import { softmaxInPlace } from './tensor-math.js';

/** What HF's eager attention adds to masked scores: float32's most negative value. */
const MASKED = -3.4028234663852886e38;

/**
 * q [S, nH, D] for the last S positions; keys / values [T, nKV, D] (past then new); mask [T]. Query i sits at
 * absolute position T − S + i and sees key t iff t ≤ that position and mask[t] = 1. Returns [S, nH, D].
 */
export function attend(q: Float32Array, keys: Float32Array, values: Float32Array, seq: number, mask: readonly number[], shape: { heads: number; kvHeads: number; headDim: number }): Float32Array {
  const { heads: nH, kvHeads: nKV, headDim: D } = shape;
  const total = keys.length / (nKV * D);
  const offset = total - seq;

  const rep = nH / nKV;
  const scale = 1 / Math.sqrt(D);
  const out = new Float32Array(seq * nH * D);
  const scores = new Float64Array(total);
  for (let head = 0; head < nH; head++) {
    const kvHead = Math.floor(head / rep); // repeat_interleave, not tiling
    for (let i = 0; i < seq; i++) {
      const qo = (i * nH + head) * D;
      for (let t = 0; t < total; t++) {
        if (t > offset + i || mask[t] === 0) {
          scores[t] = MASKED;
          continue;
        }
        const ko = (t * nKV + kvHead) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * keys[ko + d];
        scores[t] = Math.fround(dot) * scale;
      }
      softmaxInPlace(scores, total);
      for (let t = 0; t < total; t++) {
        const w = scores[t];
        if (w === 0) continue;
        const vo = (t * nKV + kvHead) * D;
        for (let d = 0; d < D; d++) out[qo + d] += w * values[vo + d];
      }
    }
  }
  return out;
}

export function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
