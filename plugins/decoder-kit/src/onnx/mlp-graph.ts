/**
 * The MLP blocks of the decoder graph over [B·S, H]: SwiGLU, and the MoE block (router softmax in float32, TopK,
 * optional renormalisation, scattered back to a dense [N, E] weight matrix) with the sigmoid-gated shared expert
 * (Qwen2-MoE, Qwen3-Next, Qwen3.5-MoE). Experts indexable by number (fused 3-D tensors, or per-expert tensors
 * back to back in one file): fused-experts-graph.ts, which computes only the chosen experts when there are few
 * rows (decode). Otherwise every expert runs on every token, weighted, zero for the unchosen (exact).
 */
import type { GraphDims } from './graph-dims.js';
import type { PendingSubgraphs } from '../linear-attention/subgraphs.js';
import { expertStore, fusedExpertsGraph } from './fused-experts-graph.js';
import type { GraphWeights } from './graph-weights.js';

export function swigluGraph(w: GraphWeights, x: string, prefix: string, width: number, hidden: number): string {
  const g = w.g;
  const gate = w.linear(x, `${prefix}.gate_proj`, width, hidden);
  const up = w.linear(x, `${prefix}.up_proj`, width, hidden);
  const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
  return w.linear(act, `${prefix}.down_proj`, hidden, width);
}

export function sparseMlpGraph(w: GraphWeights, subgraphs: PendingSubgraphs, dims: GraphDims, x: string, prefix: string): string {
  const g = w.g;
  const H = dims.hidden;
  const moe = dims.moe!;
  const { experts: E, moeIntermediate: Im } = moe;
  const router = g.op('Softmax', [w.linear(x, `${prefix}.gate`, E, H)], { axis: -1 }, `${prefix}.router`);
  const [topValues, topIndices] = g.node('TopK', [router, g.int64s([moe.topK])], { axis: -1, largest: 1, sorted: 1 }, 2, `${prefix}.topk`);
  const chosen = moe.normTopkProb ? g.op('Div', [topValues, g.op('ReduceSum', [topValues, g.int64s([-1])], { keepdims: 1 })], {}, `${prefix}.topk_weights`) : topValues;
  const dense = g.op('ScatterElements', [g.op('Mul', [router, g.float32s([0], [])]), topIndices, chosen], { axis: 1 }, `${prefix}.routing`);
  const terms: string[] = [];
  const store = expertStore(w.weights, prefix, E, Im, H);
  if (store) {
    terms.push(fusedExpertsGraph(w, subgraphs, dims, x, prefix, { indices: topIndices, weights: chosen, dense }, store));
  } else {
    // Per-expert tensors not back to back in one file (split over shards, other tensors between): dense, every
    // expert on every row. Gathering would need the E experts concatenated first, a copy per call.
    for (let e = 0; e < E; e++) {
      const out = swigluGraph(w, x, `${prefix}.experts.${e}`, Im, H);
      const share = g.op('Slice', [dense, g.int64s([e]), g.int64s([e + 1]), g.int64s([1])]); // [N, 1]
      terms.push(g.op('Mul', [out, share]));
    }
  }
  if (moe.sharedIntermediate > 0) {
    const shared = swigluGraph(w, x, `${prefix}.shared_expert`, moe.sharedIntermediate, H);
    const gate = g.op('Sigmoid', [w.linear(x, `${prefix}.shared_expert_gate`, 1, H)]);
    terms.push(g.op('Mul', [shared, gate]));
  }
  return terms.length === 1 ? terms[0] : g.op('Sum', terms, {}, `${prefix}.out`);
}
