/**
 * RMSNorm (plain and zero-centred) and the attention output gate: the reference in TypeScript and the matching
 * ONNX pieces.
 *
 * Zero-centred RMSNorm (Qwen3-Next, Qwen3.5: `output * (1.0 + weight)`) stores w − 1, so a checkpoint's
 * weights near 0 mean a scale near 1. The output gate (Qwen3-Next) doubles q_proj: per head, the first
 * head_dim outputs are the query and the next head_dim the gate; the attention output is multiplied by
 * sigmoid(gate) before o_proj.
 */
import type { GraphBuilder } from '../onnx/graph-builder.js';

const f = Math.fround;

/** y = (zeroCentred ? 1 + w : w) ⊙ x / sqrt(mean(x²) + eps) over the last axis of width `dim`. */
export function rmsNormReference(x: Float32Array, dim: number, weight: Float32Array, eps: number, zeroCentred = false): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[o + i] * x[o + i];
    const scale = f(1 / Math.sqrt(f(squares / dim) + eps));
    for (let i = 0; i < dim; i++) y[o + i] = f((zeroCentred ? f(1 + weight[i]) : weight[i]) * f(x[o + i] * scale));
  }
  return y;
}

/** The graph piece: `weight` is a float32 value of shape [dim] (an initializer or a widened external tensor). */
export function rmsNormGraph(g: GraphBuilder, x: string, weight: string, eps: number, zeroCentred = false): string {
  const mean = g.op('ReduceMean', [g.op('Pow', [x, g.float32s([2], [])])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [mean, g.float32s([eps], [])])])]);
  const scale = zeroCentred ? g.op('Add', [weight, g.float32s([1], [])]) : weight;
  return g.op('Mul', [normed, scale]);
}

/** q_proj output [N, heads · 2 · headDim] -> query and gate, each [N, heads · headDim] (per-head halves). */
export function splitGatedQueryReference(qProj: Float32Array, rows: number, heads: number, headDim: number): { query: Float32Array; gate: Float32Array } {
  const query = new Float32Array(rows * heads * headDim);
  const gate = new Float32Array(rows * heads * headDim);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const from = (r * heads + h) * 2 * headDim;
      const to = (r * heads + h) * headDim;
      query.set(qProj.subarray(from, from + headDim), to);
      gate.set(qProj.subarray(from + headDim, from + 2 * headDim), to);
    }
  }
  return { query, gate };
}

export function splitGatedQueryGraph(g: GraphBuilder, qProj: string, heads: number, headDim: number): { query: string; gate: string } {
  const perHead = g.op('Reshape', [qProj, g.int64s([-1, heads, 2 * headDim])]);
  const [query, gate] = g.node('Split', [perHead, g.int64s([headDim, headDim])], { axis: -1 }, 2);
  const flat = g.int64s([-1, heads * headDim]);
  return { query: g.op('Reshape', [query, flat]), gate: g.op('Reshape', [gate, flat]) };
}

/** attention output ⊙ sigmoid(gate), both [N, heads · headDim]. */
export function outputGateReference(attention: Float32Array, gate: Float32Array): Float32Array {
  return attention.map((a, i) => f(a * f(1 / (1 + Math.exp(-gate[i])))));
}

export function outputGateGraph(g: GraphBuilder, attention: string, gate: string): string {
  return g.op('Mul', [attention, g.op('Sigmoid', [gate])]);
}
