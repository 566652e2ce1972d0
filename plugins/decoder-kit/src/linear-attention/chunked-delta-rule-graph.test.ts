import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder } from '../onnx/graph-builder.js';
import { chunkedDeltaRuleGraph } from './chunked-delta-rule-graph.js';
import { deltaGates } from './delta-gates.js';
import { recurrentDeltaRule } from './delta-rule.js';
import { prepareQueryKey } from './query-key-norm.js';
import { PendingSubgraphs } from './subgraphs.js';
import { maxAbsDifference, randomArray, seededRandom } from './testing/seeded-random.js';

const F = DataType.FLOAT;
const [B, H, Dk, Dv] = [2, 4, 8, 6];

async function chunkedSession(chunkSize: number) {
  const g = new GraphBuilder();
  const subgraphs = new PendingSubgraphs();
  const out = chunkedDeltaRuleGraph(g, subgraphs, {
    q: g.input('q', F, ['batch', 'seq', H, Dk]), k: g.input('k', F, ['batch', 'seq', H, Dk]), v: g.input('v', F, ['batch', 'seq', H, Dv]),
    g: g.input('g', F, ['batch', 'seq', H]), beta: g.input('beta', F, ['batch', 'seq', H]),
    past: g.input('past_recurrent.0', F, ['batch', H, Dk, Dv]), presentName: 'present_recurrent.0', scope: 'layer0', chunkSize,
  });
  g.output(g.opNamed('Identity', [out.output], 'o'), F, ['batch', 'seq', H, Dv]);
  g.output('present_recurrent.0', F, ['batch', H, Dk, Dv]);
  return ort.InferenceSession.create(subgraphs.apply(g.encode({ opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'chunked' })));
}

describe('chunked delta rule ONNX (the WY inverse as a product of powers of M, a Scan over chunks)', () => {
  for (const chunkSize of [64, 16]) {
    it(`chunk ${chunkSize}: equals the token-by-token reference for short, exact and ragged lengths with a carried state`, async () => {
      const session = await chunkedSession(chunkSize);
      const random = seededRandom(31 + chunkSize);
      for (const T of [1, 5, chunkSize, 2 * chunkSize + 3]) {
        const rows = B * T;
        const q = prepareQueryKey(randomArray(random, rows * H * Dk), rows, H, Dk, 1, true);
        const k = prepareQueryKey(randomArray(random, rows * H * Dk), rows, H, Dk, 1, false);
        const v = randomArray(random, rows * H * Dv);
        const gates = deltaGates(randomArray(random, rows * H, -3, 3), randomArray(random, rows * H, -3, 3), randomArray(random, H, -1, 2), randomArray(random, H));
        const start = randomArray(random, B * H * Dk * Dv, -0.5, 0.5);
        const reference = recurrentDeltaRule({ batch: B, seq: T, heads: H, keyDim: Dk, valueDim: Dv, q, k, v, g: gates.g, beta: gates.beta }, start);
        const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
        const out = await session.run({
          q: t(q, [B, T, H, Dk]), k: t(k, [B, T, H, Dk]), v: t(v, [B, T, H, Dv]), g: t(gates.g, [B, T, H]), beta: t(gates.beta, [B, T, H]), 'past_recurrent.0': t(start, [B, H, Dk, Dv]),
        });
        expect(out.o.dims).toEqual([B, T, H, Dv]);
        expect(maxAbsDifference(out.o.data as Float32Array, reference.output)).toBeLessThan(1e-4);
        expect(maxAbsDifference(out['present_recurrent.0'].data as Float32Array, reference.state)).toBeLessThan(1e-4);
      }
    });
  }
});
