/**
 * ONNX for the gated delta rule over the tokens of one call (reference: recurrentDeltaRule in delta-rule.ts),
 * as a Scan over the sequence axis so prefill (T > 1) and decode (T = 1) share one graph, and a carried state
 * (past_recurrent.i, [batch, Hv, Dk, Dv] with numeric head dims) continues where the last call stopped.
 * transformers.js creates the first past_recurrent as zeros from the session metadata, which is the fresh state.
 *
 * Everything the body needs per token is shaped outside so the body is five ops with no constants:
 *   S ← S·exp(g);  e = (v − kᵀS)·beta;  S ← S + k⊗e;  o = qᵀS
 * with k as both a row [1, Dk] and a column [Dk, 1] so both products are MatMuls.
 */
import { DataType, type GraphBuilder } from '../onnx/graph-builder.js';
import { bodyGraph, type PendingSubgraphs } from './subgraphs.js';

export interface DeltaRuleGraphInput {
  /** [B, T, H, Dk] prepared (normalised, q scaled) and already repeated to the value heads. */
  q: string;
  k: string;
  /** [B, T, H, Dv] */
  v: string;
  /** [B, T, H] log-decay and write strength. */
  g: string;
  beta: string;
  /** [B, H, Dk, Dv] */
  past: string;
  /** Name for the present state (a graph output name such as present_recurrent.0). */
  presentName?: string;
  /** Prefix that keeps the body's value names apart from the outer graph's (one per layer). */
  scope: string;
}

export function deltaRuleGraph(g: GraphBuilder, subgraphs: PendingSubgraphs, x: DeltaRuleGraphInput): { output: string; present: string } {
  const row = (name: string) => g.op('Unsqueeze', [name, g.int64s([3])]);
  const qRow = row(x.q);
  const kRow = row(x.k);
  const kColumn = g.op('Unsqueeze', [x.k, g.int64s([4])]);
  const vRow = row(x.v);
  const decay = g.op('Unsqueeze', [g.op('Exp', [x.g]), g.int64s([3, 4])], {}, 'decay');
  const strength = g.op('Unsqueeze', [x.beta, g.int64s([3, 4])], {}, 'strength');

  const s = `${x.scope}/`;
  const body = bodyGraph(`${x.scope}_delta_rule_step`, (b) => {
    const F = DataType.FLOAT;
    const state = b.input(`${s}state`, F, ['batch', 'heads', 'key_dim', 'value_dim']);
    const q = b.input(`${s}q`, F, ['batch', 'heads', 1, 'key_dim']);
    const k = b.input(`${s}k_row`, F, ['batch', 'heads', 1, 'key_dim']);
    const kCol = b.input(`${s}k_col`, F, ['batch', 'heads', 'key_dim', 1]);
    const v = b.input(`${s}v`, F, ['batch', 'heads', 1, 'value_dim']);
    const d = b.input(`${s}decay`, F, ['batch', 'heads', 1, 1]);
    const beta = b.input(`${s}beta`, F, ['batch', 'heads', 1, 1]);
    const decayed = b.op('Mul', [state, d], {}, `${s}decayed`);
    const recalled = b.op('MatMul', [k, decayed], {}, `${s}recalled`);
    const error = b.op('Mul', [b.op('Sub', [v, recalled], {}, `${s}miss`), beta], {}, `${s}error`);
    b.opNamed('Add', [decayed, b.op('MatMul', [kCol, error], {}, `${s}write`)], `${s}state_out`);
    b.opNamed('MatMul', [q, `${s}state_out`], `${s}o`);
    b.output(`${s}state_out`, F, ['batch', 'heads', 'key_dim', 'value_dim']);
    b.output(`${s}o`, F, ['batch', 'heads', 1, 'value_dim']);
  }, g);

  const present = x.presentName ?? g.name('present_recurrent');
  const stacked = g.name('delta_out');
  g.node('Scan', [x.past, qRow, kRow, kColumn, vRow, decay, strength], { num_scan_inputs: 6, scan_input_axes: [1, 1, 1, 1, 1, 1], scan_output_axes: [1] }, [present, stacked]);
  subgraphs.add(present, 'body', body);
  // [B, T, H, 1, Dv] -> [B, T, H, Dv]
  const output = g.op('Squeeze', [stacked, g.int64s([3])], {}, 'delta_rule_out');
  return { output, present };
}
