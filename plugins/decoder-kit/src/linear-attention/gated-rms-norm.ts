/**
 * The Gated DeltaNet output norm (transformers qwen3_next/modeling_qwen3_next.py `Qwen3NextRMSNormGated`):
 * normalise first, scale by the plain weight (this norm is *not* zero-centred, unlike the layer norms), then gate
 * with SiLU of the z projection: y = x · rsqrt(mean(x²) + eps) · w · silu(z), over each value head's Dv values.
 */
import { silu } from '../reference/tensor-math.js';

export function gatedRmsNorm(x: Float32Array, z: Float32Array, weight: Float32Array, eps: number): Float32Array {
  const dim = weight.length;
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[o + i] * x[o + i];
    const scale = 1 / Math.sqrt(squares / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * scale * weight[i] * silu(z[o + i]);
  }
  return y;
}
