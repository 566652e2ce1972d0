/** The validator's matmul against the textbook sum (bit for bit), for row counts around its five-row passes. */
import { describe, expect, it } from 'vitest';
import { linear } from './layer-math.js';

function textbook(x: Float32Array, rows: number, inW: number, w: Float32Array, outW: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(rows * outW);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outW; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inW; i++) s += x[r * inW + i]! * w[o * inW + i]!;
      out[r * outW + o] = s;
    }
  }
  return out;
}

describe('linear', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  it.each([1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 15])('%i rows: x·Wᵀ + b, every row and column', (rows) => {
    const inW = 13;
    const outW = 7;
    const x = Float32Array.from({ length: rows * inW }, random);
    const w = Float32Array.from({ length: outW * inW }, random);
    const bias = Float32Array.from({ length: outW }, random);
    const got = linear(x, rows, inW, w, outW, bias);
    const want = textbook(x, rows, inW, w, outW, bias);
    expect(got.length).toBe(rows * outW);
    for (let k = 0; k < got.length; k++) expect(got[k]).toBe(Math.fround(want[k]!));
  });
});
