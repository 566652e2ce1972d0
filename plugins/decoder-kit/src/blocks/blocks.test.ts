/**
 * Each kit block twice: its ONNX piece run by onnxruntime on random inputs and weights, against its TypeScript
 * reference. Plus the frequencies against values worked out from transformers' formulas by hand.
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import { applyRotaryGraph, applyRotaryReference, rotaryParameters, rotaryTablesGraph } from './rotary.js';
import { outputGateGraph, outputGateReference, rmsNormGraph, rmsNormReference, splitGatedQueryGraph, splitGatedQueryReference } from './norm-and-gate.js';
import type { RopeSpec } from './rope-spec.js';

/** Deterministic values in [-scale, scale). */
function random(n: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.fround((state / 2 ** 32 - 0.5) * 2 * scale);
  });
}

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>, output = 'y'): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(g.encode({ opset: 17, irVersion: 8, producer: 'test', graphName: 'block' }));
  try {
    return (await session.run(feeds))[output].data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('RMSNorm block', () => {
  for (const zeroCentred of [false, true]) {
    it(`matches the reference${zeroCentred ? ' zero-centred (1 + w)' : ''}`, async () => {
      const rows = 3, dim = 16, eps = 1e-6;
      const x = random(rows * dim, 1, 3);
      const w = random(dim, 2, 0.5);
      const g = new GraphBuilder();
      const input = g.input('x', DataType.FLOAT, [rows, dim]);
      g.opNamed('Identity', [rmsNormGraph(g, input, g.float32s(w), eps, zeroCentred)], 'y');
      g.output('y', DataType.FLOAT, [rows, dim]);
      const got = await run(g, { x: new ort.Tensor('float32', x, [rows, dim]) });
      const want = rmsNormReference(x, dim, w, eps, zeroCentred);
      expect(maxDiff(got, want)).toBeLessThan(1e-5);
      // The two conventions differ: zero-centred is not plain with the same weights.
      expect(maxDiff(want, rmsNormReference(x, dim, w, eps, !zeroCentred))).toBeGreaterThan(0.1);
    });
  }
});

describe('rotary block', () => {
  const specs: Array<[string, RopeSpec]> = [
    ['default', { theta: 10_000, partialRotaryFactor: 1 }],
    ['partial (factor 0.5 of head_dim 16)', { theta: 10_000, partialRotaryFactor: 0.5 }],
    ['linear', { theta: 10_000, partialRotaryFactor: 1, scaling: { type: 'linear', factor: 4 } }],
    ['dynamic', { theta: 10_000, partialRotaryFactor: 1, scaling: { type: 'dynamic', factor: 2, maxPositionEmbeddings: 4096 } }],
    ['yarn', { theta: 1_000_000, partialRotaryFactor: 1, scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32_768 } }],
    ['llama3', { theta: 500_000, partialRotaryFactor: 1, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } }],
    ['mrope sections (text positions)', { theta: 10_000, partialRotaryFactor: 1, mropeSection: { sections: [2, 3, 3], interleaved: true } }],
  ];
  for (const [name, spec] of specs) {
    it(`${name}: onnxruntime equals the reference on [1, heads, S, D]`, async () => {
      const heads = 2, seq = 5, headDim = 16;
      const params = rotaryParameters(spec, headDim);
      const positions = [0, 1, 2, 7, 300];
      const x = random(heads * seq * headDim, 3);
      const g = new GraphBuilder();
      const input = g.input('x', DataType.FLOAT, [1, heads, seq, headDim]);
      const ids = g.input('position_ids', DataType.INT64, [1, seq]);
      const { cos, sin } = rotaryTablesGraph(g, ids, params);
      const at = (t: string) => g.op('Unsqueeze', [t, g.int64s([1])]);
      g.opNamed('Identity', [applyRotaryGraph(g, input, at(cos), at(sin), headDim, params.rotaryDim)], 'y');
      g.output('y', DataType.FLOAT, [1, heads, seq, headDim]);
      const got = await run(g, {
        x: new ort.Tensor('float32', x, [1, heads, seq, headDim]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(positions.map(BigInt)), [1, seq]),
      });
      const want = x.slice();
      for (let h = 0; h < heads; h++) applyRotaryReference(want.subarray(h * seq * headDim, (h + 1) * seq * headDim), positions, headDim, params);
      expect(maxDiff(got, want)).toBeLessThan(1e-4);
      if (params.rotaryDim < headDim) {
        // Partial rotary: the pass-through dims are untouched.
        for (let s = 0; s < seq; s++) expect(got.subarray(s * headDim + params.rotaryDim, (s + 1) * headDim)).toEqual(x.subarray(s * headDim + params.rotaryDim, (s + 1) * headDim));
      }
    });
  }

  it('frequencies follow transformers: partial width, linear /factor, dynamic at init = default, llama3 bands, YaRN mscale and ramp', () => {
    const base = rotaryParameters({ theta: 10_000, partialRotaryFactor: 1 }, 64);
    expect(base.invFreq[0]).toBe(1);
    expect(base.invFreq[1]).toBeCloseTo(10_000 ** (-2 / 64), 6);
    expect(rotaryParameters({ theta: 10_000, partialRotaryFactor: 0.25 }, 256).rotaryDim).toBe(64); // int(256 · 0.25)
    const linear = rotaryParameters({ theta: 10_000, partialRotaryFactor: 1, scaling: { type: 'linear', factor: 4 } }, 64);
    expect(linear.invFreq[5]).toBeCloseTo(base.invFreq[5] / 4, 7);
    const dynamic = rotaryParameters({ theta: 10_000, partialRotaryFactor: 1, scaling: { type: 'dynamic', factor: 2, maxPositionEmbeddings: 4096 } }, 64);
    expect(dynamic.invFreq).toEqual(base.invFreq);

    // Llama 3.1 (theta 5e5, D 128, factor 8, low 1, high 4, 8192): wavelength < 2048 kept, > 8192 divided by 8.
    const l3 = rotaryParameters({ theta: 500_000, partialRotaryFactor: 1, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } }, 128);
    const plain = rotaryParameters({ theta: 500_000, partialRotaryFactor: 1 }, 128).invFreq;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 2048) expect(l3.invFreq[i]).toBe(plain[i]);
      else if (wavelen > 8192) expect(l3.invFreq[i]).toBeCloseTo(plain[i] / 8, 12);
      else expect(l3.invFreq[i]).toBeLessThan(plain[i]); // blended
    }

    // YaRN factor 4: attention factor 0.1·ln 4 + 1; high frequencies extrapolated (kept), low interpolated (/4).
    const yarn = rotaryParameters({ theta: 1_000_000, partialRotaryFactor: 1, scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32_768 } }, 128);
    expect(yarn.attentionFactor).toBeCloseTo(0.1 * Math.log(4) + 1, 12);
    const yPlain = rotaryParameters({ theta: 1_000_000, partialRotaryFactor: 1 }, 128).invFreq;
    expect(yarn.invFreq[0]).toBeCloseTo(yPlain[0], 7);
    expect(yarn.invFreq[63]).toBeCloseTo(yPlain[63] / 4, 12);
    const given = rotaryParameters({ theta: 1_000_000, partialRotaryFactor: 1, scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32_768, attentionFactor: 1 } }, 128);
    expect(given.attentionFactor).toBe(1);
    // truncate false moves the ramp ends off integers: some frequency changes.
    const untruncated = rotaryParameters({ theta: 1_000_000, partialRotaryFactor: 1, scaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32_768, truncate: false } }, 128);
    expect(maxDiff(untruncated.invFreq, yarn.invFreq)).toBeGreaterThan(0);
  });

  it('refuses an inconsistent mrope_section or rotary width', () => {
    expect(() => rotaryParameters({ theta: 1e4, partialRotaryFactor: 1, mropeSection: { sections: [2, 2], interleaved: false } }, 16)).toThrow(/sums to 4, expected 8/);
    expect(() => rotaryParameters({ theta: 1e4, partialRotaryFactor: 0.1 }, 16)).toThrow(/rotary width 1/);
  });
});

describe('attention output gate block', () => {
  it('splits the doubled q_proj per head and gates the attention output with sigmoid, as the reference does', async () => {
    const rows = 3, heads = 2, headDim = 4;
    const qProj = random(rows * heads * 2 * headDim, 5, 2);
    const attention = random(rows * heads * headDim, 6, 2);
    const g = new GraphBuilder();
    const q = g.input('q', DataType.FLOAT, [rows, heads * 2 * headDim]);
    const a = g.input('a', DataType.FLOAT, [rows, heads * headDim]);
    const { query, gate } = splitGatedQueryGraph(g, q, heads, headDim);
    g.opNamed('Identity', [query], 'query');
    g.opNamed('Identity', [outputGateGraph(g, a, gate)], 'y');
    g.output('query', DataType.FLOAT, [rows, heads * headDim]);
    g.output('y', DataType.FLOAT, [rows, heads * headDim]);
    const feeds = { q: new ort.Tensor('float32', qProj, [rows, heads * 2 * headDim]), a: new ort.Tensor('float32', attention, [rows, heads * headDim]) };
    const ref = splitGatedQueryReference(qProj, rows, heads, headDim);
    expect(maxDiff(await run(g, feeds, 'query'), ref.query)).toBe(0);
    expect(maxDiff(await run(g, feeds, 'y'), outputGateReference(attention, ref.gate))).toBeLessThan(1e-6);
    // The gate is the second half of each head's block, not the second half of the whole row.
    expect(ref.gate[0]).toBe(qProj[headDim]);
  });
});
