/** ONNX for the gated output norm (reference: gated-rms-norm.ts): x / sqrt(mean(x²) + eps) · w · silu(z). */
import type { GraphBuilder } from '../onnx/graph-builder.js';

export interface GatedRmsNormGraphInput {
  /** [..., Dv] float */
  input: string;
  gate: string;
  /** [Dv] float, used as stored (not zero-centred). */
  weight: string;
  eps: number;
}

export function gatedRmsNormGraph(g: GraphBuilder, x: GatedRmsNormGraphInput): string {
  // Opset 17: ReduceMean still takes its axes as an attribute.
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x.input, x.input])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [x.input, g.op('Sqrt', [g.op('Add', [meanSquare, g.float32s([x.eps], [])])])]);
  const gate = g.op('Mul', [x.gate, g.op('Sigmoid', [x.gate])], {}, 'z_silu');
  return g.op('Mul', [g.op('Mul', [normed, x.weight]), gate], {}, 'gated_norm');
}
