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

/**
 * Causal grouped-query attention over one unpadded sequence: q [seq, nH, D], k and v [seq, nKV, D], softmax at
 * D^-0.5 in float64 per row; query head h reads key/value head floor(h / (nH / nKV)) (repeat_kv). With `gate`
 * ([seq, nH, D]) each output is multiplied by sigmoid(gate) (Qwen3NextAttention's output gate).
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, seq: number, nH: number, nKV: number, D: number, gate?: Float32Array): Float32Array {
  const attn = new Float32Array(seq * nH * D);
  const group = nH / nKV;
  const scale = 1 / Math.sqrt(D);
  for (let h = 0; h < nH; h++) {
    const kvh = Math.floor(h / group);
    for (let i = 0; i < seq; i++) {
      const scores = new Float64Array(i + 1);
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[(i * nH + h) * D + d]! * k[(j * nKV + kvh) * D + d]!;
        scores[j] = s * scale;
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += (scores[j] = Math.exp(scores[j]! - max));
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += (scores[j]! / sum) * v[(j * nKV + kvh) * D + d]!;
        const at = (i * nH + h) * D + d;
        attn[at] = gate ? s * (1 / (1 + Math.exp(-gate[at]!))) : s;
      }
    }
  }
  return attn;
}

/**
 * rotate_half over the first 2·inv.length dims of each head of x [seq, heads, D] at positions 0..seq-1, cos and
 * sin scaled by the rope's attention factor (1 unless YaRN); the angle is rounded to float32 as torch computes it.
 */
export function rotateHalf(x: Float32Array, seq: number, heads: number, D: number, inv: readonly number[], scaling: number): void {
  const half = inv.length;
  for (let s = 0; s < seq; s++) {
    for (let h = 0; h < heads; h++) {
      const base = (s * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(s * inv[i]!);
        const cos = Math.cos(angle) * scaling;
        const sin = Math.sin(angle) * scaling;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        x[base + i] = a * cos - b * sin;
        x[base + i + half] = b * cos + a * sin;
      }
    }
  }
}
