import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import { gatedDeltaNet, linearAttentionSizes, type GatedDeltaNetWeights, type LinearAttentionDims, type LinearAttentionState } from './gated-delta-net.js';
import { gatedDeltaNetGraph, type GatedDeltaNetGraphWeights } from './gated-delta-net-graph.js';
import { PendingSubgraphs } from './subgraphs.js';
import { maxAbsDifference, randomArray, seededRandom } from './testing/seeded-random.js';

const dims: LinearAttentionDims = { hidden: 16, keyHeads: 2, valueHeads: 4, keyDim: 8, valueDim: 6, kernel: 4, eps: 1e-6 };
const sizes = linearAttentionSizes(dims);
const groupWidth = 2 * dims.keyDim + 2 * sizes.repeats * dims.valueDim;

/** Random Qwen3-Next (fused) weights with realistic magnitudes (A_log ~ log U(1, 16), dt_bias ~ 1, norm ~ 1). */
function fusedWeights(seed: number): Extract<GatedDeltaNetWeights, { layout: 'fused' }> {
  const random = seededRandom(seed);
  const h = dims.hidden;
  return {
    layout: 'fused',
    inProjQkvz: randomArray(random, dims.keyHeads * groupWidth * h, -0.4, 0.4),
    inProjBa: randomArray(random, 2 * dims.valueHeads * h, -0.4, 0.4),
    conv1d: randomArray(random, sizes.convChannels * dims.kernel, -0.6, 0.6),
    dtBias: randomArray(random, dims.valueHeads, 0.5, 1.5),
    aLog: Float32Array.from({ length: dims.valueHeads }, () => Math.log(random(1, 16))),
    norm: randomArray(random, dims.valueDim, 0.8, 1.2),
    outProj: randomArray(random, h * sizes.valueWidth, -0.3, 0.3),
  };
}

/**
 * The same layer in the Qwen3.5 layout, by moving weight rows: fused row (j, offset) of key head j's group goes to
 * q / k / v / z / b / a as the grouping says. Written independently of gated-delta-net.ts's activation shuffle.
 */
function splitFrom(w: Extract<GatedDeltaNetWeights, { layout: 'fused' }>): Extract<GatedDeltaNetWeights, { layout: 'split' }> {
  const h = dims.hidden;
  const { keyWidth, valueWidth, convChannels, repeats: r } = sizes;
  const row = (m: Float32Array, i: number) => m.subarray(i * h, (i + 1) * h);
  const qkv = new Float32Array(convChannels * h);
  const z = new Float32Array(valueWidth * h);
  const b = new Float32Array(dims.valueHeads * h);
  const a = new Float32Array(dims.valueHeads * h);
  for (let j = 0; j < dims.keyHeads; j++) {
    for (let o = 0; o < groupWidth; o++) {
      const source = row(w.inProjQkvz, j * groupWidth + o);
      if (o < dims.keyDim) qkv.set(source, (j * dims.keyDim + o) * h);
      else if (o < 2 * dims.keyDim) qkv.set(source, (keyWidth + j * dims.keyDim + o - dims.keyDim) * h);
      else if (o < 2 * dims.keyDim + r * dims.valueDim) qkv.set(source, (2 * keyWidth + j * r * dims.valueDim + o - 2 * dims.keyDim) * h);
      else z.set(source, (j * r * dims.valueDim + o - 2 * dims.keyDim - r * dims.valueDim) * h);
    }
    for (let m = 0; m < r; m++) {
      b.set(row(w.inProjBa, j * 2 * r + m), (j * r + m) * h);
      a.set(row(w.inProjBa, j * 2 * r + r + m), (j * r + m) * h);
    }
  }
  const { inProjQkvz: _q, inProjBa: _b, layout: _l, ...shared } = w;
  return { ...shared, layout: 'split', inProjQkv: qkv, inProjZ: z, inProjB: b, inProjA: a };
}

async function layerSession(layout: 'fused' | 'split', rule: 'recurrent' | 'chunked' | 'adaptive') {
  const F = DataType.FLOAT;
  const g = new GraphBuilder();
  const subgraphs = new PendingSubgraphs();
  const h = dims.hidden;
  const weightNames: GatedDeltaNetGraphWeights =
    layout === 'fused'
      ? { layout, inProjQkvz: g.input('in_proj_qkvz', F, [dims.keyHeads * groupWidth, h]), inProjBa: g.input('in_proj_ba', F, [2 * dims.valueHeads, h]), conv1d: '', dtBias: '', aLog: '', norm: '', outProj: '' }
      : { layout, inProjQkv: g.input('in_proj_qkv', F, [sizes.convChannels, h]), inProjZ: g.input('in_proj_z', F, [sizes.valueWidth, h]), inProjB: g.input('in_proj_b', F, [dims.valueHeads, h]), inProjA: g.input('in_proj_a', F, [dims.valueHeads, h]), conv1d: '', dtBias: '', aLog: '', norm: '', outProj: '' };
  weightNames.conv1d = g.input('conv1d', F, [sizes.convChannels, 1, dims.kernel]);
  weightNames.dtBias = g.input('dt_bias', F, [dims.valueHeads]);
  weightNames.aLog = g.input('A_log', F, [dims.valueHeads]);
  weightNames.norm = g.input('norm', F, [dims.valueDim]);
  weightNames.outProj = g.input('out_proj', F, [h, sizes.valueWidth]);
  const out = gatedDeltaNetGraph(g, subgraphs, {
    hidden: g.input('hidden', F, ['batch', 'seq', h]),
    keepMask: g.input('keep', F, ['batch', 'seq']),
    pastConv: g.input('past_conv.0', F, ['batch', sizes.convChannels, dims.kernel]),
    pastRecurrent: g.input('past_recurrent.0', F, ['batch', dims.valueHeads, dims.keyDim, dims.valueDim]),
    presentConvName: 'present_conv.0',
    presentRecurrentName: 'present_recurrent.0',
    weights: weightNames, dims, scope: 'layers.0.linear_attn', rule,
  });
  g.output(g.opNamed('Identity', [out.output], 'y'), F, ['batch', 'seq', h]);
  g.output('present_conv.0', F, ['batch', sizes.convChannels, dims.kernel]);
  g.output('present_recurrent.0', F, ['batch', dims.valueHeads, dims.keyDim, dims.valueDim]);
  return ort.InferenceSession.create(subgraphs.apply(g.encode({ opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'gdn' })));
}

function weightFeeds(w: GatedDeltaNetWeights): Record<string, ort.Tensor> {
  const h = dims.hidden;
  const t = (data: Float32Array, shape: number[]) => new ort.Tensor('float32', data, shape);
  const shared = {
    conv1d: t(w.conv1d, [sizes.convChannels, 1, dims.kernel]), dt_bias: t(w.dtBias, [dims.valueHeads]), A_log: t(w.aLog, [dims.valueHeads]),
    norm: t(w.norm, [dims.valueDim]), out_proj: t(w.outProj, [h, sizes.valueWidth]),
  };
  if (w.layout === 'fused') return { ...shared, in_proj_qkvz: t(w.inProjQkvz, [dims.keyHeads * groupWidth, h]), in_proj_ba: t(w.inProjBa, [2 * dims.valueHeads, h]) };
  return { ...shared, in_proj_qkv: t(w.inProjQkv, [sizes.convChannels, h]), in_proj_z: t(w.inProjZ, [sizes.valueWidth, h]), in_proj_b: t(w.inProjB, [dims.valueHeads, h]), in_proj_a: t(w.inProjA, [dims.valueHeads, h]) };
}

describe('Gated DeltaNet layer', () => {
  it('the fused (Qwen3-Next) and split (Qwen3.5) layouts are the same layer once rows are regrouped per key head', () => {
    const fused = fusedWeights(21);
    const hidden = randomArray(seededRandom(22), 2 * 5 * dims.hidden);
    const a = gatedDeltaNet(hidden, 2, 5, dims, fused);
    const b = gatedDeltaNet(hidden, 2, 5, dims, splitFrom(fused));
    expect(maxAbsDifference(a.output, b.output)).toBeLessThan(1e-6);
    expect(maxAbsDifference(a.state.recurrent, b.state.recurrent)).toBeLessThan(1e-6);
  });

  for (const [layout, rule] of [['fused', 'adaptive'], ['split', 'adaptive'], ['split', 'recurrent'], ['fused', 'chunked']] as const) {
    it(`ONNX (${layout}, ${rule} rule) equals the reference: left-padded prefill, then decode steps through past/present states`, async () => {
      const fused = fusedWeights(23);
      const weights = layout === 'fused' ? fused : splitFrom(fused);
      const session = await layerSession(layout, rule);
      const random = seededRandom(24);
      const [B, H] = [2, dims.hidden];
      let reference: LinearAttentionState | undefined;
      let past: Record<string, ort.Tensor> = {
        'past_conv.0': new ort.Tensor('float32', new Float32Array(B * sizes.convChannels * dims.kernel), [B, sizes.convChannels, dims.kernel]),
        'past_recurrent.0': new ort.Tensor('float32', new Float32Array(B * dims.valueHeads * dims.keyDim * dims.valueDim), [B, dims.valueHeads, dims.keyDim, dims.valueDim]),
      };
      for (const [T, keep] of [[7, [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]], [1, [1, 1]], [1, [1, 1]], [3, [1, 1, 1, 1, 1, 1]]] as const) {
        const hidden = randomArray(random, B * T * H);
        const ref = gatedDeltaNet(hidden, B, T, dims, weights, reference, keep);
        const out = await session.run({
          ...weightFeeds(weights), ...past,
          hidden: new ort.Tensor('float32', hidden, [B, T, H]),
          keep: new ort.Tensor('float32', Float32Array.from(keep), [B, T]),
        });
        expect(maxAbsDifference(out.y.data as Float32Array, ref.output)).toBeLessThan(1e-4);
        expect(maxAbsDifference(out['present_conv.0'].data as Float32Array, ref.state.conv)).toBeLessThan(1e-4);
        expect(maxAbsDifference(out['present_recurrent.0'].data as Float32Array, ref.state.recurrent)).toBeLessThan(1e-4);
        reference = ref.state;
        past = { 'past_conv.0': out['present_conv.0'], 'past_recurrent.0': out['present_recurrent.0'] };
      }
    });
  }
});
