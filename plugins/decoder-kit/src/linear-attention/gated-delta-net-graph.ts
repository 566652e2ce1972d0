/**
 * ONNX for one Gated DeltaNet layer (reference: gated-delta-net.ts), from the normed hidden states [B, T, H] to
 * the layer output [B, T, H], reading past_conv.i / past_recurrent.i and writing present_conv.i /
 * present_recurrent.i. The weights are whatever value names the caller passes (external initializers in a real
 * graph); how a projection is computed (casts of bf16 weights, Gemm) is the caller's `project`, so this file only
 * says which projection feeds what.
 */
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { causalConvGraph } from './causal-conv-graph.js';
import { deltaGatesGraph } from './delta-gates-graph.js';
import { adaptiveDeltaRuleGraph } from './adaptive-delta-rule-graph.js';
import { chunkedDeltaRuleGraph } from './chunked-delta-rule-graph.js';
import { deltaRuleGraph } from './delta-rule-graph.js';
import { gatedRmsNormGraph } from './gated-rms-norm-graph.js';
import { linearAttentionSizes, type LinearAttentionDims } from './gated-delta-net.js';
import { prepareQueryKeyGraph } from './query-key-norm-graph.js';
import type { PendingSubgraphs } from './subgraphs.js';

/** x [B, T, in] · W[out, in]ᵀ -> [B, T, out]. */
export type Projection = (g: GraphBuilder, input: string, weight: string, inWidth: number, outWidth: number) => string;

/** The plain float projection: flatten to [B·T, in], Gemm with transB (the [out, in] layout as stored), restore. */
export const gemmProjection: Projection = (g, input, weight, inWidth, outWidth) => {
  const flat = g.op('Reshape', [input, g.int64s([-1, inWidth])]);
  const product = g.op('Gemm', [flat, weight], { transB: 1 });
  const leading = g.op('Shape', [input], { start: 0, end: 2 });
  return g.op('Reshape', [product, g.op('Concat', [leading, g.int64s([outWidth])], { axis: 0 })]);
};

export type GatedDeltaNetGraphWeights = { conv1d: string; dtBias: string; aLog: string; norm: string; outProj: string } & (
  | { layout: 'fused'; inProjQkvz: string; inProjBa: string }
  | { layout: 'split'; inProjQkv: string; inProjZ: string; inProjB: string; inProjA: string }
);

export interface GatedDeltaNetGraphInput {
  /** [B, T, H] float, after input_layernorm. */
  hidden: string;
  /** Optional [B, T] float (1 keep, 0 pad): padded inputs are zeroed before the projections. */
  keepMask?: string;
  pastConv: string;
  pastRecurrent: string;
  presentConvName?: string;
  presentRecurrentName?: string;
  weights: GatedDeltaNetGraphWeights;
  dims: LinearAttentionDims;
  /** Unique per layer, e.g. "layers.0.linear_attn". */
  scope: string;
  project?: Projection;
  /**
   * Which ONNX form of the delta rule: 'recurrent' (a Scan step per token; best for decode) or 'chunked'
   * (64-token WY blocks; measured 3.6x faster at 128 prompt tokens and 7.7x at 512, but 2x slower for a single
   * token because the chunk is padded). 'adaptive' (default) switches on T == 1 like transformers. Same numbers
   * every way (tests).
   */
  rule?: 'recurrent' | 'chunked' | 'adaptive';
}

export function gatedDeltaNetGraph(g: GraphBuilder, subgraphs: PendingSubgraphs, x: GatedDeltaNetGraphInput): { output: string; presentConv: string; presentRecurrent: string } {
  const d = x.dims;
  const w = x.weights;
  const project = x.project ?? gemmProjection;
  const { keyWidth, valueWidth, convChannels, repeats: r } = linearAttentionSizes(d);
  const hidden = x.keepMask ? g.op('Mul', [x.hidden, g.op('Unsqueeze', [x.keepMask, g.int64s([2])])], {}, 'gdn_masked') : x.hidden;
  const split = (input: string, axis: number, sizes: number[]) => g.node('Split', [input, g.int64s(sizes)], { axis }, sizes.length, 'gdn_split');
  const reshape = (input: string, shape: number[]) => g.op('Reshape', [input, g.int64s(shape)]);

  let mixed: string;
  let z: string;
  let b: string;
  let a: string;
  if (w.layout === 'split') {
    mixed = project(g, hidden, w.inProjQkv, d.hidden, convChannels);
    z = reshape(project(g, hidden, w.inProjZ, d.hidden, valueWidth), [0, 0, d.valueHeads, d.valueDim]);
    b = project(g, hidden, w.inProjB, d.hidden, d.valueHeads);
    a = project(g, hidden, w.inProjA, d.hidden, d.valueHeads);
  } else {
    // Per key head: [q Dk | k Dk | v r·Dv | z r·Dv] and [b r | a r]; flattening the head axis back gives the
    // conv channel order [all q | all k | all v] and value heads grouped by key head.
    const groupWidth = 2 * d.keyDim + 2 * r * d.valueDim;
    const qkvz = reshape(project(g, hidden, w.inProjQkvz, d.hidden, d.keyHeads * groupWidth), [0, 0, d.keyHeads, groupWidth]);
    const [q, k, v, zGrouped] = split(qkvz, 3, [d.keyDim, d.keyDim, r * d.valueDim, r * d.valueDim]);
    mixed = g.op('Concat', [reshape(q, [0, 0, keyWidth]), reshape(k, [0, 0, keyWidth]), reshape(v, [0, 0, valueWidth])], { axis: 2 }, 'gdn_mixed');
    z = reshape(zGrouped, [0, 0, d.valueHeads, d.valueDim]);
    const ba = reshape(project(g, hidden, w.inProjBa, d.hidden, 2 * d.valueHeads), [0, 0, d.keyHeads, 2 * r]);
    const [bGrouped, aGrouped] = split(ba, 3, [r, r]);
    b = reshape(bGrouped, [0, 0, d.valueHeads]);
    a = reshape(aGrouped, [0, 0, d.valueHeads]);
  }

  const conv = causalConvGraph(g, { input: mixed, past: x.pastConv, weight: w.conv1d, channels: convChannels, kernel: d.kernel, presentName: x.presentConvName });
  const [qFlat, kFlat, vFlat] = split(conv.output, 2, [keyWidth, keyWidth, valueWidth]);
  const q = prepareQueryKeyGraph(g, { input: reshape(qFlat, [0, 0, d.keyHeads, d.keyDim]), keyHeads: d.keyHeads, keyDim: d.keyDim, repeats: r, isQuery: true });
  const k = prepareQueryKeyGraph(g, { input: reshape(kFlat, [0, 0, d.keyHeads, d.keyDim]), keyHeads: d.keyHeads, keyDim: d.keyDim, repeats: r, isQuery: false });
  const gates = deltaGatesGraph(g, { a, b, aLog: w.aLog, dtBias: w.dtBias });
  const form = { recurrent: deltaRuleGraph, chunked: chunkedDeltaRuleGraph, adaptive: adaptiveDeltaRuleGraph }[x.rule ?? 'adaptive'];
  const rule = form(g, subgraphs, {
    q, k, v: reshape(vFlat, [0, 0, d.valueHeads, d.valueDim]), g: gates.g, beta: gates.beta,
    past: x.pastRecurrent, presentName: x.presentRecurrentName, scope: x.scope,
  });
  const normed = gatedRmsNormGraph(g, { input: rule.output, gate: z, weight: w.norm, eps: d.eps });
  const output = project(g, reshape(normed, [0, 0, valueWidth]), w.outProj, valueWidth, d.hidden);
  return { output, presentConv: conv.present, presentRecurrent: rule.present };
}
