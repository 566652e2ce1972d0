import { describe, expect, it } from 'vitest';
import { causalConv1d } from './causal-conv.js';
import { deltaGates } from './delta-gates.js';
import { chunkedDeltaRule, recurrentDeltaRule, type DeltaRuleInputs } from './delta-rule.js';
import { gatedRmsNorm } from './gated-rms-norm.js';
import { l2Normalize, prepareQueryKey, repeatKeyHeads } from './query-key-norm.js';
import { maxAbsDifference, randomArray, seededRandom } from './testing/seeded-random.js';

/** Random prepared delta-rule inputs shaped like a real layer: normalised q/k, g from real-looking gates. */
function randomInputs(seed: number, batch: number, seq: number, keyHeads: number, repeats: number, keyDim: number, valueDim: number): DeltaRuleInputs {
  const random = seededRandom(seed);
  const heads = keyHeads * repeats;
  const rows = batch * seq;
  const q = prepareQueryKey(randomArray(random, rows * keyHeads * keyDim), rows, keyHeads, keyDim, repeats, true);
  const k = prepareQueryKey(randomArray(random, rows * keyHeads * keyDim), rows, keyHeads, keyDim, repeats, false);
  const { g, beta } = deltaGates(randomArray(random, rows * heads, -3, 3), randomArray(random, rows * heads, -3, 3), randomArray(random, heads, -1, 2), randomArray(random, heads, -1, 1));
  return { batch, seq, heads, keyDim, valueDim, q, k, v: randomArray(random, rows * heads * valueDim), g, beta };
}

/** Tokens [from, to) of every tensor, as a shorter sequence. */
function sliceTokens(x: DeltaRuleInputs, from: number, to: number): DeltaRuleInputs {
  const take = (a: Float32Array, width: number) => {
    const out = new Float32Array(x.batch * (to - from) * width);
    for (let b = 0; b < x.batch; b++) out.set(a.subarray((b * x.seq + from) * width, (b * x.seq + to) * width), b * (to - from) * width);
    return out;
  };
  const h = x.heads;
  return { ...x, seq: to - from, q: take(x.q, h * x.keyDim), k: take(x.k, h * x.keyDim), v: take(x.v, h * x.valueDim), g: take(x.g, h), beta: take(x.beta, h) };
}

describe('gated delta rule reference', () => {
  it('one token from a zero state: o = beta·(q·k)·v, S = beta·k⊗v (hand-computed)', () => {
    const inputs: DeltaRuleInputs = {
      batch: 1, seq: 1, heads: 1, keyDim: 2, valueDim: 2,
      q: Float32Array.of(1, 0), k: Float32Array.of(0.6, 0.8), v: Float32Array.of(2, -1), g: Float32Array.of(-0.5), beta: Float32Array.of(0.5),
    };
    for (const run of [recurrentDeltaRule(inputs), chunkedDeltaRule(inputs, undefined, 4)]) {
      expect(Array.from(run.output)).toEqual([0.6 * 0.5 * 2, 0.6 * 0.5 * -1].map(Math.fround));
      expect(maxAbsDifference(run.state, [0.6, -0.3, 0.8, -0.4])).toBeLessThan(1e-7);
    }
  });

  it('decays the carried state by exp(g) and writes only the prediction error', () => {
    const state = Float32Array.of(1, 0, 0, 1); // S = I: the memory already maps k to k
    const inputs: DeltaRuleInputs = {
      batch: 1, seq: 1, heads: 1, keyDim: 2, valueDim: 2,
      q: Float32Array.of(0, 1), k: Float32Array.of(1, 0), v: Float32Array.of(1, 0), g: Float32Array.of(Math.log(0.5)), beta: Float32Array.of(1),
    };
    // S·0.5 = diag(0.5, 0.5); Sᵀk = (0.5, 0); error (0.5, 0) written at k: S = diag(1, 0.5); o = Sᵀq = (0, 0.5).
    const run = recurrentDeltaRule(inputs, state);
    expect(maxAbsDifference(run.state, [1, 0, 0, 0.5])).toBeLessThan(1e-7);
    expect(maxAbsDifference(run.output, [0, 0.5])).toBeLessThan(1e-7);
  });

  it('chunked equals recurrent over several chunks with a ragged tail, grouped value heads and a carried state', () => {
    const inputs = randomInputs(1, 2, 150, 2, 2, 8, 6);
    const start = randomArray(seededRandom(2), 2 * 4 * 8 * 6, -0.5, 0.5);
    const recurrent = recurrentDeltaRule(inputs, start);
    for (const chunk of [64, 16, 7]) {
      const chunked = chunkedDeltaRule(inputs, start, chunk);
      expect(maxAbsDifference(chunked.output, recurrent.output)).toBeLessThan(1e-5);
      expect(maxAbsDifference(chunked.state, recurrent.state)).toBeLessThan(1e-5);
    }
  });

  it('prefill then token-by-token decode with the carried state equals one pass over the whole sequence', () => {
    const inputs = randomInputs(3, 1, 40, 2, 3, 4, 5);
    const full = recurrentDeltaRule(inputs);
    const prefill = chunkedDeltaRule(sliceTokens(inputs, 0, 33), undefined, 8);
    const outputs = [prefill.output];
    let state = prefill.state;
    for (let t = 33; t < 40; t++) {
      const step = recurrentDeltaRule(sliceTokens(inputs, t, t + 1), state);
      outputs.push(step.output);
      state = step.state;
    }
    const joined = new Float32Array(full.output.length);
    let offset = 0;
    for (const o of outputs) { joined.set(o, offset); offset += o.length; }
    expect(maxAbsDifference(joined, full.output)).toBeLessThan(1e-5);
    expect(maxAbsDifference(state, full.state)).toBeLessThan(1e-5);
  });
});

describe('causal conv1d reference', () => {
  it('each output is silu of the K inputs ending at that token, zero history first (hand-computed)', () => {
    // One channel, K = 3, weights (1, 10, 100) oldest first.
    const { output, state } = causalConv1d(Float32Array.of(1, 2, 3), 1, 3, 1, Float32Array.of(1, 10, 100), 3);
    const silu = (z: number) => z / (1 + Math.exp(-z));
    expect(maxAbsDifference(output, [silu(100), silu(210), silu(321)])).toBeLessThan(1e-4);
    expect(Array.from(state)).toEqual([1, 2, 3]);
  });

  it('prefill then single-token steps with the state equals the whole sequence', () => {
    const random = seededRandom(5);
    const [B, T, C, K] = [2, 9, 6, 4];
    const x = randomArray(random, B * T * C);
    const weight = randomArray(random, C * K);
    const full = causalConv1d(x, B, T, C, weight, K);
    const part = (from: number, to: number) => {
      const out = new Float32Array(B * (to - from) * C);
      for (let b = 0; b < B; b++) out.set(x.subarray((b * T + from) * C, (b * T + to) * C), b * (to - from) * C);
      return out;
    };
    let { output, state } = causalConv1d(part(0, 2), B, 2, C, weight, K); // shorter than the kernel on purpose
    const pieces = [output];
    for (let t = 2; t < T; t++) {
      ({ output, state } = causalConv1d(part(t, t + 1), B, 1, C, weight, K, state));
      pieces.push(output);
    }
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const piece = t < 2 ? pieces[0].subarray((b * 2 + t) * C, (b * 2 + t + 1) * C) : pieces[t - 1].subarray(b * C, (b + 1) * C);
        expect(maxAbsDifference(piece, full.output.subarray((b * T + t) * C, (b * T + t + 1) * C))).toBeLessThan(1e-7);
      }
    }
    expect(maxAbsDifference(state, full.state)).toBe(0);
  });
});

describe('gates, query/key preparation and the gated norm', () => {
  it('g = -exp(A_log)·softplus(a + dt_bias) and beta = sigmoid(b)', () => {
    const { g, beta } = deltaGates(Float32Array.of(0, 1), Float32Array.of(0, 2), Float32Array.of(Math.log(2), 0), Float32Array.of(0, -1));
    expect(maxAbsDifference(g, [-2 * Math.log(2), -Math.log(2)])).toBeLessThan(1e-6);
    expect(maxAbsDifference(beta, [0.5, 1 / (1 + Math.exp(-2))])).toBeLessThan(1e-7);
  });

  it('repeats key heads interleaved (head j serves value heads j·r…j·r+r-1) and L2-normalises with the q scale', () => {
    expect(Array.from(repeatKeyHeads(Float32Array.of(1, 2, 3, 4), 1, 2, 2, 2))).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(maxAbsDifference(l2Normalize(Float32Array.of(3, 4), 2, 0.5), [0.3, 0.4])).toBeLessThan(1e-7);
    expect(maxAbsDifference(prepareQueryKey(Float32Array.of(3, 4, 0, 0, 0, 2, 0, 0), 1, 2, 4, 1, true), [0.3, 0.4, 0, 0, 0, 0.5, 0, 0])).toBeLessThan(1e-6);
  });

  it('gated RMSNorm: normalise, scale by the plain weight, gate with silu(z)', () => {
    // x = (1, -1): rms 1. w = (2, 3). z = (0, big): silu(0) = 0 masks the first value.
    const y = gatedRmsNorm(Float32Array.of(1, -1), Float32Array.of(0, 30), Float32Array.of(2, 3), 0);
    expect(maxAbsDifference(y, [0, -3 * 30])).toBeLessThan(1e-4);
  });
});
