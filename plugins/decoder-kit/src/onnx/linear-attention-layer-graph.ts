/**
 * One Gated DeltaNet layer of the decoder graph (linear-attention/gated-delta-net-graph.ts) over the checkpoint's
 * tensors: the residual stream is [B·S, H], the layer works on [B, S, H]. Its state comes in as past_conv.N /
 * past_recurrent.N and leaves as present_conv.N / present_recurrent.N (transformers.js 4.3.1 names, fixed dims
 * but the batch so transformers.js can build the all-zero first state from the input metadata). Which projection
 * layout (Qwen3-Next's fused in_proj_qkvz / in_proj_ba or Qwen3.5's in_proj_qkv / z / b / a) is the checkpoint's
 * to say. conv1d, A_log, dt_bias and the gated norm weight (a plain weight: Qwen3NextRMSNormGated is not
 * zero-centred) are widened to float32 once; the projections go through the same anchored Gemm as every linear.
 */
import type { GraphDims } from './graph-dims.js';
import { gatedDeltaNetGraph, type GatedDeltaNetGraphWeights, type Projection } from '../linear-attention/gated-delta-net-graph.js';
import { linearAttentionSizes } from '../linear-attention/gated-delta-net.js';
import type { PendingSubgraphs } from '../linear-attention/subgraphs.js';
import { DataType } from './graph-builder.js';
import type { GraphWeights } from './graph-weights.js';

export interface LinearLayerShapes {
  /** [3] int64: B, S, H for the residual stream's 3-D view. */
  hiddenShape: string;
  /** [B, S] float: 1 for real tokens, 0 for padding (the last S columns of attention_mask). */
  keepMask: string;
}

/** The state inputs a Gated DeltaNet layer declares (also the shapes of its outputs). */
export function linearStateShapes(dims: GraphDims): { conv: Array<string | number>; recurrent: Array<string | number> } {
  const d = dims.hybrid!.linear;
  return {
    conv: ['batch_size', linearAttentionSizes(d).convChannels, d.kernel],
    recurrent: ['batch_size', d.valueHeads, d.keyDim, d.valueDim],
  };
}

export function linearAttentionLayerGraph(w: GraphWeights, subgraphs: PendingSubgraphs, dims: GraphDims, a: string, p: string, layer: number, s: LinearLayerShapes): string {
  const g = w.g;
  const d = dims.hybrid!.linear;
  const { convChannels, valueWidth, keyWidth } = linearAttentionSizes(d);
  const H = dims.hidden;
  const la = `${p}.linear_attn`;
  const shapes = linearStateShapes(dims);
  const pastConv = g.input(`past_conv.${layer}`, DataType.FLOAT, shapes.conv);
  const pastRecurrent = g.input(`past_recurrent.${layer}`, DataType.FLOAT, shapes.recurrent);

  const project: Projection = (_g, input, weight, inWidth, outWidth) => {
    const flat = g.op('Reshape', [input, g.int64s([-1, inWidth])]);
    const product = g.op('Gemm', [flat, weight], { transB: 1 });
    return g.op('Reshape', [product, g.op('Concat', [g.op('Shape', [input], { start: 0, end: 2 }), g.int64s([outWidth])], { axis: 0 })]);
  };
  const matrix = (name: string, rows: number, cols: number) => w.tensor(`${la}.${name}.weight`, [rows, cols], a);
  const common = {
    conv1d: w.tensor(`${la}.conv1d.weight`, [convChannels, 1, d.kernel]),
    dtBias: w.tensor(`${la}.dt_bias`, [d.valueHeads]),
    aLog: w.tensor(`${la}.A_log`, [d.valueHeads]),
    norm: w.tensor(`${la}.norm.weight`, [d.valueDim]),
    outProj: matrix('out_proj', H, valueWidth),
  };
  const weights: GatedDeltaNetGraphWeights = w.weights.has(`${la}.in_proj_qkvz.weight`)
    ? { layout: 'fused', ...common, inProjQkvz: matrix('in_proj_qkvz', 2 * keyWidth + 2 * valueWidth, H), inProjBa: matrix('in_proj_ba', 2 * d.valueHeads, H) }
    : {
        layout: 'split', ...common,
        inProjQkv: matrix('in_proj_qkv', convChannels, H),
        inProjZ: matrix('in_proj_z', valueWidth, H),
        inProjB: matrix('in_proj_b', d.valueHeads, H),
        inProjA: matrix('in_proj_a', d.valueHeads, H),
      };
  const layerOut = gatedDeltaNetGraph(g, subgraphs, {
    hidden: g.op('Reshape', [a, s.hiddenShape], {}, `${la}.input`),
    keepMask: s.keepMask,
    pastConv,
    pastRecurrent,
    presentConvName: `present_conv.${layer}`,
    presentRecurrentName: `present_recurrent.${layer}`,
    weights,
    dims: d,
    scope: `layers.${layer}.linear_attn`,
    project,
  });
  return g.op('Reshape', [layerOut.output, g.int64s([-1, H])], {}, `${la}.output`);
}
