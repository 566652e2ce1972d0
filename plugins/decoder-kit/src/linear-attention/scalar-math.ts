/** Scalar activations of the linear-attention reference, in float64 like the rest of the oracle. */

export function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** torch.nn.functional.softplus with its default threshold 20 (above it the input is returned unchanged). */
export function softplus(z: number): number {
  return z > 20 ? z : Math.log1p(Math.exp(z));
}
