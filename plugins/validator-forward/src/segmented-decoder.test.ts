import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTinyModelDir } from '../test-support/tiny-model.js';
import type { DecoderCall, StepResult } from './decoder-call.js';
import { OrtDecoder } from './ort-decoder.js';
import { SegmentedDecoder } from './segmented-decoder.js';
import type { ModelConfig } from '../../../src/index.js';
import { buildDecoderGraph } from '../../decoder-kit/index.js';
import { qwenDims } from '../../arch-qwen/test/family-dims.js';
import { writeSeededModel } from '../../decoder-kit/testing.js';

const { onnx } = onnxProto;
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const ids = [5, 17, 42, 90, 3, 25]; // inside every tiny vocabulary (the hybrid one has 96 ids)
const ones = (n: number) => [Array.from({ length: n }, () => 1)];
/** The validator's three calls: prompt, prefix, last token decoded from the prefix's cache. */
const calls: DecoderCall[] = [
  { ids: [ids], mask: ones(6) },
  { ids: [ids.slice(0, -1)], mask: ones(5) },
  { ids: [ids.slice(-1)], mask: ones(6), past: 1 },
];

function maxDiff(a: StepResult[], b: StepResult[]): number {
  let max = 0;
  a.forEach((r, k) => r.logits.forEach((x, i) => (max = Math.max(max, Math.abs(x - b[k].logits[i])))));
  return max;
}

describe('SegmentedDecoder', () => {
  for (const [family, dtype] of [['qwen2', 'bf16'], ['qwen3', 'f32'], ['qwen2_moe', 'f16']] as const) {
    it(`computes the whole graph's logits and cache for ${family} ${dtype}, however small the segments`, async () => {
      const { dir } = await makeTinyModelDir({ family, dtype, seed: 13 });
      dirs.push(dir);
      const graph = path.join(dir, 'onnx', 'model.onnx');
      const whole = await OrtDecoder.open(graph, { graphOptimizationLevel: 'all' });
      const expected = await whole.run(calls);
      await whole.release();
      for (const segmentBytes of [1, 8_000, 1e9]) {
        const segmented = await SegmentedDecoder.open(graph, { graphOptimizationLevel: 'all' }, segmentBytes);
        const got = await segmented.run(calls);
        expect(got.map((r) => r.dims)).toEqual(expected.map((r) => r.dims));
        expect(maxDiff(got, expected)).toBeLessThanOrEqual(1e-5);
        expect(Object.keys(got[0].cache).sort()).toEqual(Object.keys(expected[0].cache).sort());
        if (segmentBytes === 1e9) expect(segmented.plan.segments).toBe(1);
        // A token embedding larger than a segment is read by rows (the ids' rows only), whole otherwise.
        expect(segmented.plan.tablesByRows).toBe(segmentBytes === 1e9 ? 0 : 1);
        if (segmentBytes === 1) expect(segmented.plan.segments).toBeGreaterThan(10);
      }
    });
  }

  it('continues from a cache returned by an earlier run', async () => {
    const { dir } = await makeTinyModelDir({ seed: 2 });
    dirs.push(dir);
    const graph = path.join(dir, 'onnx', 'model.onnx');
    const segmented = await SegmentedDecoder.open(graph, {}, 8_000);
    const [prefix] = await segmented.run([calls[1]]);
    const [step] = await segmented.run([{ ids: [ids.slice(-1)], mask: ones(6), past: prefix.cache }]);
    const [full] = await segmented.run([calls[0]]);
    const last = full.logits.subarray(5 * full.dims[2]);
    expect(Math.max(...step.logits.map((x, i) => Math.abs(x - last[i])))).toBeLessThanOrEqual(1e-4);
  });

  it('cuts a hybrid graph (If / Scan / Loop bodies reading outer values) and computes what the whole graph computes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'segmented-hybrid-'));
    dirs.push(dir);
    await writeSeededModel(dir, { family: 'qwen3_5', dtype: 'bf16', tied: false, seed: 21 });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
    const graph = path.join(dir, (await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) })).graphPath);
    const model = onnx.ModelProto.decode(await readFile(graph));
    expect(model.graph!.node!.some((n) => n.opType === 'If')).toBe(true);
    const whole = await OrtDecoder.open(graph, {});
    const expected = await whole.run(calls);
    await whole.release();
    for (const segmentBytes of [1, 8_000]) {
      const segmented = await SegmentedDecoder.open(graph, {}, segmentBytes);
      const got = await segmented.run(calls);
      expect(maxDiff(got, expected)).toBeLessThanOrEqual(1e-4); // measured 1.8e-5: each segment is optimised on its own
      expect(Object.keys(got[0].cache).sort()).toEqual(Object.keys(expected[0].cache).sort());
      expect(segmented.plan.segments).toBeGreaterThan(4);
    }
  });
});
