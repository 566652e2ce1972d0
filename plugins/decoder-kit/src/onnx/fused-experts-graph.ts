/**
 * The routed experts of an MoE block over [N, H] with the router's top-K choice, when their weights can be indexed
 * by expert: stored fused (transformers v5: gate_up_proj [E, 2·Im, H] with each expert's gate rows first,
 * down_proj [E, H, Im]), or one tensor per expert laid back to back in one file (what a safetensors writer does
 * with a layer's experts: 3E tensors of the same size, in whatever order), seen as one [3E, Im·H] view with a
 * row table per projection.
 *
 * One ONNX If on N·K ≤ maxGathered (≤ E) picks how:
 * - gathered (decode, a few rows): the N·K chosen experts' weights are gathered in their stored dtype and only those
 *   are widened and multiplied, so a token costs K experts, not E (1/32 of the dense work for Qwen3.5-35B-A3B's
 *   256 experts, top 8). They are widened together, so maxGathered bounds how many (see there).
 * - dense (prefill): every expert runs on every row, weighted by the routing (zero for unchosen ones): exact, no
 *   data-dependent shapes, one expert's float32 weights alive at a time.
 * Both branches read the same top-level initializers (the whole fused tensors, or the view), so nothing is
 * declared twice.
 */
import type { GraphDims } from './graph-dims.js';
import type { ModelWeights, WeightDtype, WeightLocation } from '../reference/model-weights.js';
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

/** Where the routed experts' weights are, indexable by expert. */
export type ExpertStore =
  | { kind: 'fused'; gateUp: WeightLocation; down: WeightLocation }
  | { kind: 'view'; view: WeightLocation; rows: { gate: number[]; up: number[]; down: number[] } };

/** The view over per-expert tensors, when the 3E of them fill one contiguous block of one file; else undefined. */
export function perExpertView(weights: ModelWeights, prefix: string, E: number, Im: number, H: number): ExpertStore | undefined {
  const at = (e: number, k: 'gate' | 'up' | 'down') => weights.locate(`${prefix}.experts.${e}.${k}_proj.weight`, k === 'down' ? [H, Im] : [Im, H]);
  const all = Array.from({ length: E }, (_, e) => [at(e, 'gate'), at(e, 'up'), at(e, 'down')]);
  const first = all[0][0];
  const size = first.byteLength;
  const flat = all.flat();
  if (flat.some((l) => l.fileName !== first.fileName || l.dtype !== first.dtype || l.byteLength !== size)) return undefined;
  const base = Math.min(...flat.map((l) => l.fileOffset));
  const rowOf = (l: WeightLocation) => (l.fileOffset - base) / size;
  const rows = new Set(flat.map(rowOf));
  if (rows.size !== 3 * E || [...rows].some((r) => !Number.isInteger(r) || r >= 3 * E)) return undefined;
  return {
    kind: 'view',
    view: { name: `${prefix}.experts.view`, fileName: first.fileName, dtype: first.dtype, shape: [3 * E, Im * H], fileOffset: base, byteLength: 3 * E * size },
    rows: { gate: all.map((x) => rowOf(x[0])), up: all.map((x) => rowOf(x[1])), down: all.map((x) => rowOf(x[2])) },
  };
}

/** How a sparse layer's experts can be indexed: fused tensors, a view over per-expert ones, or not (undefined). */
export function expertStore(weights: ModelWeights, prefix: string, E: number, Im: number, H: number): ExpertStore | undefined {
  return weights.has(`${prefix}.experts.gate_up_proj`) ? fusedExperts(weights, prefix, E, Im, H) : perExpertView(weights, prefix, E, Im, H);
}

/** The fused tensors of a layer as an ExpertStore. */
export function fusedExperts(weights: ModelWeights, prefix: string, E: number, Im: number, H: number): ExpertStore {
  return { kind: 'fused', gateUp: weights.locate(`${prefix}.experts.gate_up_proj`, [E, 2 * Im, H]), down: weights.locate(`${prefix}.experts.down_proj`, [E, H, Im]) };
}

export function fusedExpertsGraph(w: GraphWeights, subgraphs: PendingSubgraphs, dims: GraphDims, x: string, prefix: string, routing: Routing, store: ExpertStore): string {
  const g = w.g;
  const { experts: E, moeIntermediate: Im, topK: K } = dims.moe!;
  const H = dims.hidden;
  const stored = store.kind === 'fused'
    ? [w.stored(store.gateUp, [E, 2 * Im, H], 0, `${prefix}.experts.gate_up_proj`), w.stored(store.down, [E, H, Im], 0, `${prefix}.experts.down_proj`)]
    : [w.stored(store.view, store.view.shape, 0, `${prefix}.experts.view`)];

  const branch = (kind: 'gathered' | 'dense') =>
    prefixLocalNames(
      bodyGraph(`${prefix}.experts_${kind}`, (b) => {
        const bw = new GraphWeights(b, w.weights, w.initializers);
        // Anchored on x like every weight (graph-weights.ts): nothing is cast before the rows it multiplies exist.
        const source = expertSource(b, bw, store, stored, x, prefix, { E, Im, H });
        const out = kind === 'gathered' ? gatheredExperts(b, source, x, routing, K, Im, H) : denseExperts(b, source, x, routing, E, Im);
        b.output(b.opNamed('Identity', [out], 'experts_out'), DataType.FLOAT, ['rows', H]);
      }, g),
      `${prefix}.experts_${kind}/`,
    );
  const rows = g.op('Slice', [g.op('Shape', [x]), g.int64s([0]), g.int64s([1])]);
  const few = g.op('LessOrEqual', [g.op('Mul', [rows, g.int64s([K])]), g.int64s([maxGathered(E, K, Im, H)])], {}, `${prefix}.few_rows`);
  const [out] = g.node('If', [few], {}, 1, `${prefix}.experts`);
  subgraphs.add(out, 'then_branch', branch('gathered'));
  subgraphs.add(out, 'else_branch', branch('dense'));
  return out;
}

/** Float32 bytes of gathered experts allowed at once (beyond one token's K experts, which are always allowed). */
const GATHER_BYTES = 256 * 2 ** 20;

/**
 * How many (row, expert) pairs the gathered branch takes: never more than E (then the dense branch does less
 * work), and no more float32 expert weights than GATHER_BYTES unless one token's K already exceed it. The dense
 * branch widens one expert at a time; the gathered one widens all its pairs together, so this bounds its memory.
 */
export function maxGathered(E: number, K: number, Im: number, H: number): number {
  return Math.min(E, Math.max(K, Math.floor(GATHER_BYTES / (3 * Im * H * 4))));
}

/** Float32 weights of the experts `idx` ([n] int64): gate and up [n, Im, H] (or together [n, 2·Im, H]), down [n, H, Im]. */
interface ExpertSource {
  /** [n, 2·Im, 1]: gate rows first, then up, for columns [n, H, 1]. */
  gateUp(idx: string, column: string): string;
  /** [n, H, 1] for activations [n, Im, 1]. */
  down(idx: string, act: string): string;
}

function expertSource(b: GraphBuilder, bw: GraphWeights, store: ExpertStore, stored: string[], x: string, prefix: string, d: { E: number; Im: number; H: number }): ExpertSource {
  const { E, Im, H } = d;
  if (store.kind === 'fused') {
    const gateUp = bw.bound(stored[0], [E, 2 * Im, H], `${prefix}.experts.gate_up_proj`, x);
    const down = bw.bound(stored[1], [E, H, Im], `${prefix}.experts.down_proj`, x);
    return {
      gateUp: (idx, column) => b.op('MatMul', [bw.widened(b.op('Gather', [gateUp, idx], { axis: 0 }), store.gateUp.dtype, 'gate_up_w'), column]),
      down: (idx, act) => b.op('MatMul', [bw.widened(b.op('Gather', [down, idx], { axis: 0 }), store.down.dtype, 'down_w'), act]),
    };
  }
  const view = bw.bound(stored[0], store.view.shape, `${prefix}.experts.view`, x);
  const dtype: WeightDtype = store.view.dtype;
  const rowsOf = (table: number[], idx: string) => b.op('Gather', [b.int64s(table), idx], { axis: 0 });
  const matrices = (table: number[], idx: string, shape: [number, number]) =>
    bw.widened(b.op('Reshape', [b.op('Gather', [view, rowsOf(table, idx)], { axis: 0 }), b.int64s([-1, ...shape])]), dtype, 'expert_w');
  return {
    gateUp: (idx, column) => b.op('Concat', [
      b.op('MatMul', [matrices(store.rows.gate, idx, [Im, H]), column]),
      b.op('MatMul', [matrices(store.rows.up, idx, [Im, H]), column]),
    ], { axis: 1 }),
    down: (idx, act) => b.op('MatMul', [matrices(store.rows.down, idx, [H, Im]), act]),
  };
}

/** Σ_k weight[n, k] · expert_{idx[n, k]}(x[n]), computing only the chosen experts: batched [N·K] matrix-vector products. */
function gatheredExperts(b: GraphBuilder, source: ExpertSource, x: string, routing: Routing, K: number, Im: number, H: number): string {
  const chosen = b.op('Reshape', [routing.indices, b.int64s([-1])], {}, 'chosen_experts'); // [N·K]
  // Each row repeated K times as a column: [N·K, H, 1].
  const rowsK = b.op('Expand', [b.op('Reshape', [x, b.int64s([-1, 1, H])]), b.op('Concat', [b.op('Slice', [b.op('Shape', [x]), b.int64s([0]), b.int64s([1])]), b.int64s([K, H])], { axis: 0 })]);
  const column = b.op('Reshape', [rowsK, b.int64s([-1, H, 1])]);
  const h = source.gateUp(chosen, column); // [N·K, 2·Im, 1]
  const gate = b.op('Slice', [h, b.int64s([0]), b.int64s([Im]), b.int64s([1])]);
  const up = b.op('Slice', [h, b.int64s([Im]), b.int64s([2 * Im]), b.int64s([1])]);
  const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]); // [N·K, Im, 1]
  const out = b.op('Reshape', [source.down(chosen, act), b.int64s([-1, K, H])]); // [N, K, H]
  const weighted = b.op('Mul', [out, b.op('Reshape', [routing.weights, b.int64s([-1, K, 1])])]);
  return b.op('ReduceSum', [weighted, b.int64s([1])], { keepdims: 0 });
}

/**
 * Every expert on every row, weighted by the dense routing matrix (zero for the unchosen). The rows go in as
 * [1, H, N] columns of one batched product per expert, so both stores share gatheredExperts' source.
 */
function denseExperts(b: GraphBuilder, source: ExpertSource, x: string, routing: Routing, E: number, Im: number): string {
  const columns = b.op('Unsqueeze', [b.op('Transpose', [x], { perm: [1, 0] }), b.int64s([0])]); // [1, H, N]
  const terms: string[] = [];
  for (let i = 0; i < E; i++) {
    const index = b.int64s([i]);
    const h = source.gateUp(index, columns); // [1, 2·Im, N]
    const gate = b.op('Slice', [h, b.int64s([0]), b.int64s([Im]), b.int64s([1])]);
    const up = b.op('Slice', [h, b.int64s([Im]), b.int64s([2 * Im]), b.int64s([1])]);
    const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]); // [1, Im, N]
    const out = b.op('Transpose', [b.op('Squeeze', [source.down(index, act), b.int64s([0])])], { perm: [1, 0] }); // [N, H]
    const share = b.op('Slice', [routing.dense, b.int64s([i]), b.int64s([i + 1]), b.int64s([1])]); // [N, 1]
    terms.push(b.op('Mul', [out, share]));
  }
  return terms.length === 1 ? terms[0] : b.op('Sum', terms);
}
