/** The float32 building blocks of the validator's own layer math (reference-layer.ts, reference-hybrid-layer.ts). */

/**
 * x [rows, inW] · Wᵀ (W [outW, inW]) plus bias. Five input rows share one pass over a weight row: five
 * independent sums (the float adds no longer wait on each other) and each weight read once per five rows; every
 * sum still runs over i in order, so each output is the same whatever the grouping. A layer's weights are larger
 * than the caches, so a pass costs about the same for one row as for five: the layer sample's 5 rows take one
 * pass (two with groups of four and a row left over: a Qwen3.5-0.8B-shaped layer 1.4x faster), a 15-token
 * prompt three (six). A last group of 2-4 rows repeats its last row in the unused sums.
 */
export function linear(x: Float32Array, rows: number, inW: number, w: Float32Array, outW: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(rows * outW);
  let r = 0;
  for (; rows - r >= 2; r += 5) {
    const last = Math.min(r + 4, rows - 1);
    const x0 = r * inW, x1 = Math.min(r + 1, last) * inW, x2 = Math.min(r + 2, last) * inW, x3 = Math.min(r + 3, last) * inW, x4 = last * inW;
    const o0 = r * outW, o1 = Math.min(r + 1, last) * outW, o2 = Math.min(r + 2, last) * outW, o3 = Math.min(r + 3, last) * outW, o4 = last * outW;
    for (let o = 0; o < outW; o++) {
      const wBase = o * inW;
      const b = bias ? bias[o]! : 0;
      let s0 = b, s1 = b, s2 = b, s3 = b, s4 = b;
      for (let i = 0; i < inW; i++) {
        const wi = w[wBase + i]!;
        s0 += x[x0 + i]! * wi;
        s1 += x[x1 + i]! * wi;
        s2 += x[x2 + i]! * wi;
        s3 += x[x3 + i]! * wi;
        s4 += x[x4 + i]! * wi;
      }
      // Repeated rows write the same value to the same place: the last write is as good as the first.
      out[o0 + o] = s0;
      out[o1 + o] = s1;
      out[o2 + o] = s2;
      out[o3 + o] = s3;
      out[o4 + o] = s4;
    }
  }
  for (; r < rows; r++) {
    const xBase = r * inW;
    for (let o = 0; o < outW; o++) {
      const wBase = o * inW;
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inW; i++) s += x[xBase + i]! * w[wBase + i]!;
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
