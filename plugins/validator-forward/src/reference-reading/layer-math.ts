/** The float32 building blocks of the validator's own layer math (reference-layer.ts, reference-hybrid-layer.ts). */

/** x [rows, inW] · Wᵀ (W [outW, inW]) plus bias. */
export function linear(x: Float32Array, rows: number, inW: number, w: Float32Array, outW: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(rows * outW);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outW; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inW; i++) s += x[r * inW + i]! * w[o * inW + i]!;
      out[r * outW + o] = s;
    }
  }
  return out;
}

/** RMSNorm over rows of `width`; `zeroCentred` scales by 1 + w (Qwen3NextRMSNorm). */
export function rmsNorm(x: Float32Array, width: number, w: Float32Array, eps: number, zeroCentred: boolean): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / width; r++) {
    let ss = 0;
    for (let c = 0; c < width; c++) ss += x[r * width + c]! * x[r * width + c]!;
    const inv = 1 / Math.sqrt(ss / width + eps);
    for (let c = 0; c < width; c++) out[r * width + c] = x[r * width + c]! * inv * (zeroCentred ? 1 + w[c]! : w[c]!);
  }
  return out;
}
