/**
 * The few dense kernels the reference pass needs, over row-major Float32Array. Plain loops on purpose: this is
 * the oracle the ONNX graph is checked against, so it must be obviously right, not fast. Sums run in float64
 * (JS numbers) and are stored as float32, which stays far inside the 1e-4 tolerance.
 */

/** y[n, out] = x[n, in] · W[out, in]ᵀ (+ bias[out]): the nn.Linear convention of the checkpoints. */
export function linear(x: Float32Array, rows: number, inDim: number, weight: Float32Array, outDim: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let sum = 0;
      for (let i = 0; i < inDim; i++) sum += x[xo + i] * weight[wo + i];
      y[r * outDim + o] = bias ? sum + bias[o] : sum;
    }
  }
  return y;
}

/** RMSNorm over the last axis of width `dim`: w ⊙ x / sqrt(mean(x²) + eps), eps inside the root (§4). */
export function rmsNorm(x: Float32Array, dim: number, weight: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[o + i] * x[o + i];
    const scale = Math.fround(1 / Math.sqrt(Math.fround(squares / dim) + eps));
    for (let i = 0; i < dim; i++) y[o + i] = weight[i] * Math.fround(x[o + i] * scale);
  }
  return y;
}

export function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** In-place softmax of values[0..n). */
export function softmaxInPlace(values: Float64Array | Float32Array, n = values.length): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (values[i] > max) max = values[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    values[i] = Math.exp(values[i] - max);
    sum += values[i];
  }
  for (let i = 0; i < n; i++) values[i] /= sum;
}
