/**
 * Each ONNX piece against its reference block on random inputs, run by onnxruntime-node (the runtime
 * transformers.js uses in Node). Tolerance 1e-4 absolute, the project's forward-pass bar.
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import { causalConv1d } from './causal-conv.js';
import { causalConvGraph } from './causal-conv-graph.js';
import { deltaGates } from './delta-gates.js';
import { deltaGatesGraph } from './delta-gates-graph.js';
import { recurrentDeltaRule, chunkedDeltaRule } from './delta-rule.js';
import { deltaRuleGraph } from './delta-rule-graph.js';
import { gatedRmsNorm } from './gated-rms-norm.js';
import { gatedRmsNormGraph } from './gated-rms-norm-graph.js';
import { prepareQueryKey } from './query-key-norm.js';
import { prepareQueryKeyGraph } from './query-key-norm-graph.js';
import { PendingSubgraphs } from './subgraphs.js';
import { maxAbsDifference, randomArray, seededRandom } from './testing/seeded-random.js';

const F = DataType.FLOAT;
const TOLERANCE = 1e-4;

/** Builds a one-piece model (every tensor a graph input), opens it in onnxruntime and returns a runner. */
async function pieceSession(build: (g: GraphBuilder, subgraphs: PendingSubgraphs) => void): Promise<(feeds: Record<string, [Float32Array, number[]]>) => Promise<Record<string, ort.Tensor>>> {
  const g = new GraphBuilder();
  const subgraphs = new PendingSubgraphs();
  build(g, subgraphs);
  const bytes = subgraphs.apply(g.encode({ opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'piece' }));
  const session = await ort.InferenceSession.create(bytes);
  return async (feeds) => session.run(Object.fromEntries(Object.entries(feeds).map(([name, [data, dims]]) => [name, new ort.Tensor('float32', data, dims)])));
}

describe('linear-attention ONNX pieces vs reference (onnxruntime-node)', () => {
  it('causal conv with past_conv/present_conv: prefill and single-token steps', async () => {
    const [B, C, K] = [2, 12, 4];
    const run = await pieceSession((g) => {
      const out = causalConvGraph(g, { input: g.input('x', F, ['batch', 'seq', C]), past: g.input('past_conv.0', F, ['batch', C, K]), weight: g.input('w', F, [C, 1, K]), channels: C, kernel: K, presentName: 'present_conv.0' });
      g.output(g.opNamed('Identity', [out.output], 'y'), F, ['batch', 'seq', C]);
      g.output('present_conv.0', F, ['batch', C, K]);
    });
    const random = seededRandom(11);
    const weight = randomArray(random, C * K);
    let state: Float32Array | undefined;
    let past: Float32Array = new Float32Array(B * C * K);
    for (const T of [5, 1, 1, 3]) {
      const x = randomArray(random, B * T * C);
      const ref = causalConv1d(x, B, T, C, weight, K, state);
      const out = await run({ x: [x, [B, T, C]], 'past_conv.0': [past, [B, C, K]], w: [weight, [C, 1, K]] });
      expect(maxAbsDifference(out.y.data as Float32Array, ref.output)).toBeLessThan(TOLERANCE);
      expect(maxAbsDifference(out['present_conv.0'].data as Float32Array, ref.state)).toBeLessThan(TOLERANCE);
      state = ref.state;
      past = out['present_conv.0'].data as Float32Array;
    }
  });

  it('gates g and beta', async () => {
    const [B, T, H] = [2, 3, 4];
    const run = await pieceSession((g) => {
      const out = deltaGatesGraph(g, { a: g.input('a', F, ['batch', 'seq', H]), b: g.input('b', F, ['batch', 'seq', H]), aLog: g.input('A_log', F, [H]), dtBias: g.input('dt_bias', F, [H]) });
      g.output(g.opNamed('Identity', [out.g], 'g_out'), F, ['batch', 'seq', H]);
      g.output(g.opNamed('Identity', [out.beta], 'beta_out'), F, ['batch', 'seq', H]);
    });
    const random = seededRandom(12);
    const [a, b] = [randomArray(random, B * T * H, -6, 6), randomArray(random, B * T * H, -6, 6)];
    const [aLog, dtBias] = [randomArray(random, H, -1, 2.7), randomArray(random, H, -2, 2)];
    const ref = deltaGates(a, b, aLog, dtBias);
    const out = await run({ a: [a, [B, T, H]], b: [b, [B, T, H]], A_log: [aLog, [H]], dt_bias: [dtBias, [H]] });
    expect(maxAbsDifference(out.g_out.data as Float32Array, ref.g)).toBeLessThan(TOLERANCE);
    expect(maxAbsDifference(out.beta_out.data as Float32Array, ref.beta)).toBeLessThan(TOLERANCE);
  });

  it('q/k preparation: interleaved head repeat, L2 norm, q scale', async () => {
    const [B, T, Hk, D, r] = [2, 3, 2, 8, 3];
    for (const isQuery of [true, false]) {
      const run = await pieceSession((g) => {
        const y = prepareQueryKeyGraph(g, { input: g.input('x', F, ['batch', 'seq', Hk, D]), keyHeads: Hk, keyDim: D, repeats: r, isQuery });
        g.output(g.opNamed('Identity', [y], 'y'), F, ['batch', 'seq', Hk * r, D]);
      });
      const x = randomArray(seededRandom(13), B * T * Hk * D, -3, 3);
      const out = await run({ x: [x, [B, T, Hk, D]] });
      expect(maxAbsDifference(out.y.data as Float32Array, prepareQueryKey(x, B * T, Hk, D, r, isQuery))).toBeLessThan(TOLERANCE);
    }
  });

  it('delta rule Scan with past_recurrent/present_recurrent: prefill then decode steps equal the whole sequence', async () => {
    const [B, H, Dk, Dv] = [2, 4, 8, 6];
    const run = await pieceSession((g, subgraphs) => {
      const out = deltaRuleGraph(g, subgraphs, {
        q: g.input('q', F, ['batch', 'seq', H, Dk]), k: g.input('k', F, ['batch', 'seq', H, Dk]), v: g.input('v', F, ['batch', 'seq', H, Dv]),
        g: g.input('g', F, ['batch', 'seq', H]), beta: g.input('beta', F, ['batch', 'seq', H]),
        past: g.input('past_recurrent.0', F, ['batch', H, Dk, Dv]), presentName: 'present_recurrent.0', scope: 'layer0',
      });
      g.output(g.opNamed('Identity', [out.output], 'o'), F, ['batch', 'seq', H, Dv]);
      g.output('present_recurrent.0', F, ['batch', H, Dk, Dv]);
    });
    const random = seededRandom(14);
    const T = 70;
    const rows = B * T;
    const q = prepareQueryKey(randomArray(random, rows * H * Dk), rows, H, Dk, 1, true);
    const k = prepareQueryKey(randomArray(random, rows * H * Dk), rows, H, Dk, 1, false);
    const v = randomArray(random, rows * H * Dv);
    const gates = deltaGates(randomArray(random, rows * H, -3, 3), randomArray(random, rows * H, -3, 3), randomArray(random, H, -1, 2), randomArray(random, H));
    const whole = { batch: B, seq: T, heads: H, keyDim: Dk, valueDim: Dv, q, k, v, g: gates.g, beta: gates.beta };
    // The oracle for prefill is the chunked form (what transformers runs), for the steps the recurrent one.
    const reference = chunkedDeltaRule(whole);
    expect(maxAbsDifference(reference.output, recurrentDeltaRule(whole).output)).toBeLessThan(1e-5);

    const take = (a: Float32Array, width: number, from: number, to: number) => {
      const out = new Float32Array(B * (to - from) * width);
      for (let b = 0; b < B; b++) out.set(a.subarray((b * T + from) * width, (b * T + to) * width), b * (to - from) * width);
      return out;
    };
    let past: Float32Array = new Float32Array(B * H * Dk * Dv);
    for (const [from, to] of [[0, 66], [66, 67], [67, 68], [68, 70]]) {
      const n = to - from;
      const out = await run({
        q: [take(q, H * Dk, from, to), [B, n, H, Dk]], k: [take(k, H * Dk, from, to), [B, n, H, Dk]], v: [take(v, H * Dv, from, to), [B, n, H, Dv]],
        g: [take(gates.g, H, from, to), [B, n, H]], beta: [take(gates.beta, H, from, to), [B, n, H]], 'past_recurrent.0': [past, [B, H, Dk, Dv]],
      });
      expect(maxAbsDifference(out.o.data as Float32Array, take(reference.output, H * Dv, from, to))).toBeLessThan(TOLERANCE);
      past = out['present_recurrent.0'].data as Float32Array;
    }
    expect(maxAbsDifference(past, reference.state)).toBeLessThan(TOLERANCE);
  });

  it('gated RMSNorm', async () => {
    const [N, Dv] = [6, 16];
    const run = await pieceSession((g) => {
      const y = gatedRmsNormGraph(g, { input: g.input('x', F, ['n', Dv]), gate: g.input('z', F, ['n', Dv]), weight: g.input('w', F, [Dv]), eps: 1e-6 });
      g.output(g.opNamed('Identity', [y], 'y'), F, ['n', Dv]);
    });
    const random = seededRandom(15);
    const [x, z, w] = [randomArray(random, N * Dv, -3, 3), randomArray(random, N * Dv, -4, 4), randomArray(random, Dv, 0.5, 1.5)];
    const out = await run({ x: [x, [N, Dv]], z: [z, [N, Dv]], w: [w, [Dv]] });
    expect(maxAbsDifference(out.y.data as Float32Array, gatedRmsNorm(x, z, w, 1e-6))).toBeLessThan(TOLERANCE);
  });
});
