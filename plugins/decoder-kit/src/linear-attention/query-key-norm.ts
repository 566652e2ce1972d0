/**
 * Query/key preparation before the delta rule (transformers qwen3_next/modeling_qwen3_next.py: `l2norm` and the
 * start of `torch_recurrent_gated_delta_rule` / `torch_chunk_gated_delta_rule` with use_qk_l2norm_in_kernel):
 * - key heads are repeated to the value heads *interleaved* (`repeat_interleave`): key head j serves value heads
 *   j·r … j·r+r-1, the "grouped per key head" order the checkpoints use;
 * - q and k are L2-normalised over the head dim with the fla convention x · rsqrt(Σx² + 1e-6);
 * - q is then scaled by 1/sqrt(Dk).
 */

/** x [N, Hk, D] -> [N, Hk·r, D], each head repeated r times in place. */
export function repeatKeyHeads(x: Float32Array, rows: number, keyHeads: number, dim: number, repeats: number): Float32Array {
  if (repeats === 1) return x;
  const y = new Float32Array(rows * keyHeads * repeats * dim);
  for (let n = 0; n < rows; n++) {
    for (let h = 0; h < keyHeads; h++) {
      const from = (n * keyHeads + h) * dim;
      for (let m = 0; m < repeats; m++) y.set(x.subarray(from, from + dim), ((n * keyHeads + h) * repeats + m) * dim);
    }
  }
  return y;
}

/** L2 normalisation over each run of `dim` values, times `scale`. */
export function l2Normalize(x: Float32Array, dim: number, scale = 1, eps = 1e-6): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[o + i] * x[o + i];
    const factor = scale / Math.sqrt(squares + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * factor;
  }
  return y;
}

/** Both steps for q (scaled by 1/sqrt(Dk)) or k (scale 1): [N, Hk, Dk] -> [N, Hv, Dk]. */
export function prepareQueryKey(x: Float32Array, rows: number, keyHeads: number, keyDim: number, repeats: number, isQuery: boolean): Float32Array {
  return l2Normalize(repeatKeyHeads(x, rows, keyHeads, keyDim, repeats), keyDim, isQuery ? 1 / Math.sqrt(keyDim) : 1);
}
