/**
 * ONNX for the q/k preparation (reference: query-key-norm.ts): repeat key heads interleaved to the value heads,
 * L2-normalise over the head dim with eps inside the root (x / sqrt(Σx² + 1e-6)), scale q by 1/sqrt(Dk).
 */
import type { GraphBuilder } from '../onnx/graph-builder.js';

export interface QueryKeyGraphInput {
  /** [B, T, Hk, Dk] float */
  input: string;
  keyHeads: number;
  keyDim: number;
  /** Hv / Hk */
  repeats: number;
  isQuery: boolean;
}

export function prepareQueryKeyGraph(g: GraphBuilder, x: QueryKeyGraphInput): string {
  let heads = x.input;
  if (x.repeats > 1) {
    // [B,T,Hk,D] -> [B,T,Hk,1,D] -> tile to [B,T,Hk,r,D] -> [B,T,Hk·r,D]: key head j next to its copies.
    const spread = g.op('Unsqueeze', [heads, g.int64s([3])]);
    const tiled = g.op('Tile', [spread, g.int64s([1, 1, 1, x.repeats, 1])]);
    heads = g.op('Reshape', [tiled, g.int64s([0, 0, x.keyHeads * x.repeats, x.keyDim])], {}, 'qk_heads');
  }
  const squares = g.op('ReduceSum', [g.op('Mul', [heads, heads]), g.int64s([-1])], { keepdims: 1 });
  const norm = g.op('Sqrt', [g.op('Add', [squares, g.float32s([1e-6], [])])]);
  const scale = g.float32s([x.isQuery ? 1 / Math.sqrt(x.keyDim) : 1], []);
  return g.op('Mul', [heads, g.op('Div', [scale, norm])], {}, x.isQuery ? 'q_ready' : 'k_ready');
}
