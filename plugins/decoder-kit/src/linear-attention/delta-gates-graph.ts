/** ONNX for g = -exp(A_log)·softplus(a + dt_bias) and beta = sigmoid(b) (reference: delta-gates.ts). */
import type { GraphBuilder } from '../onnx/graph-builder.js';

export interface DeltaGatesGraphInput {
  /** [B, T, Hv] float projections. */
  a: string;
  b: string;
  /** [Hv] float. */
  aLog: string;
  dtBias: string;
}

export function deltaGatesGraph(g: GraphBuilder, x: DeltaGatesGraphInput): { g: string; beta: string } {
  const rate = g.op('Neg', [g.op('Exp', [x.aLog])], {}, 'neg_a');
  const step = g.op('Softplus', [g.op('Add', [x.a, x.dtBias])], {}, 'dt');
  return { g: g.op('Mul', [rate, step], {}, 'log_decay'), beta: g.op('Sigmoid', [x.b], {}, 'beta') };
}
