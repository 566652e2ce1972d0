/**
 * The routed experts of an MoE block stored fused (transformers v5: gate_up_proj [E, 2·Im, H] with each expert's
 * gate rows first, down_proj [E, H, Im]), over [N, H] with the router's top-K choice.
 *
 * One ONNX If on N·K ≤ E picks how:
 * - gathered (decode, a few rows): the N·K chosen experts' weights are gathered in their stored dtype and only those
 *   are widened and multiplied, so a token costs K experts, not E (1/32 of the dense work for Qwen3.5-35B-A3B's
 *   256 experts, top 8). The gathered weights take N·K experts' worth of memory, at most E's: never more than the
 *   dense branch reads.
 * - dense (prefill): every expert runs on every row, weighted by the routing (zero for unchosen ones): exact, no
 *   data-dependent shapes, one expert's float32 weights alive at a time.
 * Both branches read the same two top-level initializers (the whole fused tensors), so nothing is stored twice.
 */
import type { ForwardDims } from '../reference/forward-dims.js';
import { bodyGraph, prefixLocalNames, type PendingSubgraphs } from '../linear-attention/subgraphs.js';
import { DataType, type GraphBuilder } from './graph-builder.js';
import { GraphWeights } from './graph-weights.js';

export interface Routing {
  /** [N, K] int64: the chosen experts per row. */
  indices: string;
  /** [N, K] float32: their weights (renormalised when the family does). */
  weights: string;
  /** [N, E] float32: the same weights scattered over all experts, zero elsewhere. */
  dense: string;
}

export function fusedExpertsGraph(w: GraphWeights, subgraphs: PendingSubgraphs, dims: ForwardDims, x: string, prefix: string, routing: Routing): string {
  const g = w.g;
  const { experts: E, moeIntermediate: Im, topK: K } = dims.moe!;
  const H = dims.hidden;
  const gateUpAt = w.weights.locate(`${prefix}.experts.gate_up_proj`, [E, 2 * Im, H]);
  const downAt = w.weights.locate(`${prefix}.experts.down_proj`, [E, H, Im]);
  const gateUpStored = w.stored(gateUpAt, [E, 2 * Im, H], 0, `${prefix}.experts.gate_up_proj`);
  const downStored = w.stored(downAt, [E, H, Im], 0, `${prefix}.experts.down_proj`);

  const branch = (kind: 'gathered' | 'dense') =>
    prefixLocalNames(
      bodyGraph(`${prefix}.experts_${kind}`, (b) => {
        const bw = new GraphWeights(b, w.weights, w.initializers);
        // Anchored on x like every weight (graph-weights.ts): nothing is cast before the rows it multiplies exist.
        const gateUp = bw.bound(gateUpStored, [E, 2 * Im, H], `${prefix}.experts.gate_up_proj`, x);
        const down = bw.bound(downStored, [E, H, Im], `${prefix}.experts.down_proj`, x);
        const out = kind === 'gathered'
          ? gatheredExperts(b, bw, { x, gateUp, down, gateUpDtype: gateUpAt.dtype, downDtype: downAt.dtype, routing, K, Im, H })
          : denseExperts(b, bw, { x, gateUp, down, gateUpDtype: gateUpAt.dtype, downDtype: downAt.dtype, routing, E, Im, prefix });
        b.output(b.opNamed('Identity', [out], 'experts_out'), DataType.FLOAT, ['rows', H]);
      }),
      `${prefix}.experts_${kind}/`,
    );
  const rows = g.op('Slice', [g.op('Shape', [x]), g.int64s([0]), g.int64s([1])]);
  const few = g.op('LessOrEqual', [g.op('Mul', [rows, g.int64s([K])]), g.int64s([E])], {}, `${prefix}.few_rows`);
  const [out] = g.node('If', [few], {}, 1, `${prefix}.experts`);
  subgraphs.add(out, 'then_branch', branch('gathered'));
  subgraphs.add(out, 'else_branch', branch('dense'));
  return out;
}

interface Experts {
  x: string;
  gateUp: string;
  down: string;
  gateUpDtype: Parameters<GraphWeights['widened']>[1];
  downDtype: Parameters<GraphWeights['widened']>[1];
  routing: Routing;
}

/** Σ_k weight[n, k] · expert_{idx[n, k]}(x[n]), computing only the chosen experts: batched [N·K] matrix-vector products. */
function gatheredExperts(b: GraphBuilder, bw: GraphWeights, e: Experts & { K: number; Im: number; H: number }): string {
  const { K, Im, H } = e;
  const chosen = b.op('Reshape', [e.routing.indices, b.int64s([-1])], {}, 'chosen_experts'); // [N·K]
  const gateUp = bw.widened(b.op('Gather', [e.gateUp, chosen], { axis: 0 }), e.gateUpDtype, 'gate_up_chosen'); // [N·K, 2·Im, H]
  const down = bw.widened(b.op('Gather', [e.down, chosen], { axis: 0 }), e.downDtype, 'down_chosen'); // [N·K, H, Im]
  // Each row repeated K times as a column: [N·K, H, 1].
  const rowsK = b.op('Expand', [b.op('Reshape', [e.x, b.int64s([-1, 1, H])]), b.op('Concat', [b.op('Slice', [b.op('Shape', [e.x]), b.int64s([0]), b.int64s([1])]), b.int64s([K, H])], { axis: 0 })]);
  const column = b.op('Reshape', [rowsK, b.int64s([-1, H, 1])]);
  const h = b.op('MatMul', [gateUp, column]); // [N·K, 2·Im, 1]
  const gate = b.op('Slice', [h, b.int64s([0]), b.int64s([Im]), b.int64s([1])]);
  const up = b.op('Slice', [h, b.int64s([Im]), b.int64s([2 * Im]), b.int64s([1])]);
  const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]); // [N·K, Im, 1]
  const out = b.op('Reshape', [b.op('MatMul', [down, act]), b.int64s([-1, K, H])]); // [N, K, H]
  const weighted = b.op('Mul', [out, b.op('Reshape', [e.routing.weights, b.int64s([-1, K, 1])])]);
  return b.op('ReduceSum', [weighted, b.int64s([1])], { keepdims: 0 });
}

/** Every expert on every row, weighted by the dense routing matrix (zero for the unchosen). */
function denseExperts(b: GraphBuilder, bw: GraphWeights, e: Experts & { E: number; Im: number; prefix: string }): string {
  const { E, Im } = e;
  const terms: string[] = [];
  for (let i = 0; i < E; i++) {
    const index = b.int64s([i], []);
    const gateUp = bw.widened(b.op('Gather', [e.gateUp, index], { axis: 0 }), e.gateUpDtype, `${e.prefix}.experts.${i}.gate_up`); // [2·Im, H]
    const h = b.op('Gemm', [e.x, gateUp], { transB: 1 }); // [N, 2·Im]
    const gate = b.op('Slice', [h, b.int64s([0]), b.int64s([Im]), b.int64s([1])]);
    const up = b.op('Slice', [h, b.int64s([Im]), b.int64s([2 * Im]), b.int64s([1])]);
    const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    const down = bw.widened(b.op('Gather', [e.down, index], { axis: 0 }), e.downDtype, `${e.prefix}.experts.${i}.down`); // [H, Im]
    const out = b.op('Gemm', [act, down], { transB: 1 });
    const share = b.op('Slice', [e.routing.dense, b.int64s([i]), b.int64s([i + 1]), b.int64s([1])]); // [N, 1]
    terms.push(b.op('Mul', [out, share]));
  }
  return terms.length === 1 ? terms[0] : b.op('Sum', terms);
}
