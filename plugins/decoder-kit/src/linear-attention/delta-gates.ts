/**
 * The per-token, per-value-head scalars of the gated delta rule (transformers qwen3_next/modeling_qwen3_next.py,
 * `Qwen3NextGatedDeltaNet.forward`; Qwen3.5 computes them the same way from in_proj_a / in_proj_b):
 *   g    = -exp(A_log) · softplus(a + dt_bias)   a log-decay, always ≤ 0 (the state is multiplied by exp(g))
 *   beta = sigmoid(b)                           the delta rule's write strength
 */
import { sigmoid } from '../reference/tensor-math.js';
import { softplus } from './scalar-math.js';

export interface DeltaGates {
  /** [N, Hv] log-decay. */
  g: Float32Array;
  /** [N, Hv] write strength. */
  beta: Float32Array;
}

/** `a`, `b`: [N, Hv] projections; `aLog`, `dtBias`: [Hv] (the checkpoint's A_log and dt_bias). */
export function deltaGates(a: Float32Array, b: Float32Array, aLog: Float32Array, dtBias: Float32Array): DeltaGates {
  const heads = aLog.length;
  const g = new Float32Array(a.length);
  const beta = new Float32Array(b.length);
  for (let i = 0; i < a.length; i++) {
    const h = i % heads;
    g[i] = -Math.exp(aLog[h]) * softplus(a[i] + dtBias[h]);
    beta[i] = sigmoid(b[i]);
  }
  return { g, beta };
}
