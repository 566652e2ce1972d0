/**
 * The MLP blocks of the decoder graph over [B·S, H]: SwiGLU, and the MoE block (router softmax in float32, TopK,
 * optional renormalisation, scattered back to a dense [N, E] weight matrix; every expert runs on every token and is
 * weighted, zero for the unchosen: exact, no data-dependent shapes), with per-expert or fused 3-D expert tensors
 * and the sigmoid-gated shared expert (Qwen2-MoE, Qwen3-Next, Qwen3.5-MoE).
 */
import type { ForwardDims } from '../reference/forward-dims.js';
import { ELEM_SIZE, type GraphWeights } from './graph-weights.js';

export function swigluGraph(w: GraphWeights, x: string, prefix: string, width: number, hidden: number): string {
  const g = w.g;
  const gate = w.linear(x, `${prefix}.gate_proj`, width, hidden);
  const up = w.linear(x, `${prefix}.up_proj`, width, hidden);
  const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
  return w.linear(act, `${prefix}.down_proj`, hidden, width);
}

export function sparseMlpGraph(w: GraphWeights, dims: ForwardDims, x: string, prefix: string): string {
  const g = w.g;
  const H = dims.hidden;
  const moe = dims.moe!;
  const { experts: E, moeIntermediate: Im } = moe;
  const router = g.op('Softmax', [w.linear(x, `${prefix}.gate`, E, H)], { axis: -1 }, `${prefix}.router`);
  const [topValues, topIndices] = g.node('TopK', [router, g.int64s([moe.topK])], { axis: -1, largest: 1, sorted: 1 }, 2, `${prefix}.topk`);
  const chosen = moe.normTopkProb ? g.op('Div', [topValues, g.op('ReduceSum', [topValues, g.int64s([-1])], { keepdims: 1 })]) : topValues;
  const dense = g.op('ScatterElements', [g.op('Mul', [router, g.float32s([0], [])]), topIndices, chosen], { axis: 1 }, `${prefix}.routing`);
  const fused = w.weights.has(`${prefix}.experts.gate_up_proj`);
  const terms: string[] = [];
  for (let e = 0; e < E; e++) {
    let out: string;
    if (fused) {
      // transformers v5 layout: gate_up_proj [E, 2·Im, H] (gate rows first), down_proj [E, H, Im]; each expert's
      // slices are contiguous byte ranges, so they become their own 2-D initializers.
      const gateUp = w.weights.locate(`${prefix}.experts.gate_up_proj`, [E, 2 * Im, H]);
      const down = w.weights.locate(`${prefix}.experts.down_proj`, [E, H, Im]);
      const size = ELEM_SIZE[gateUp.dtype];
      const gate = g.op('Gemm', [x, w.weight(gateUp, [Im, H], e * 2 * Im * H * size, `${prefix}.experts.${e}.gate`, x)], { transB: 1 });
      const up = g.op('Gemm', [x, w.weight(gateUp, [Im, H], (e * 2 + 1) * Im * H * size, `${prefix}.experts.${e}.up`, x)], { transB: 1 });
      const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
      out = g.op('Gemm', [act, w.weight(down, [H, Im], e * H * Im * ELEM_SIZE[down.dtype], `${prefix}.experts.${e}.down`, act)], { transB: 1 });
    } else {
      out = swigluGraph(w, x, `${prefix}.experts.${e}`, Im, H);
    }
    const share = g.op('Slice', [dense, g.int64s([e]), g.int64s([e + 1]), g.int64s([1])]); // [N, 1]
    terms.push(g.op('Mul', [out, share]));
  }
  if (moe.sharedIntermediate > 0) {
    const shared = swigluGraph(w, x, `${prefix}.shared_expert`, moe.sharedIntermediate, H);
    const gate = g.op('Sigmoid', [w.linear(x, `${prefix}.shared_expert_gate`, 1, H)]);
    terms.push(g.op('Mul', [shared, gate]));
  }
  return terms.length === 1 ? terms[0] : g.op('Sum', terms, {}, `${prefix}.out`);
}
