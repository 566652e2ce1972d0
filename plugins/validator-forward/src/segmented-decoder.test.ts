import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTinyModelDir } from '../test-support/tiny-model.js';
import type { DecoderCall, StepResult } from './decoder-call.js';
import { OrtDecoder } from './ort-decoder.js';
import { CannotSegmentError, SegmentedDecoder } from './segmented-decoder.js';

const { onnx } = onnxProto;
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const ids = [5, 17, 42, 99, 3, 250];
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

  it('refuses a graph with control flow, which cannot be cut', async () => {
    const { dir } = await makeTinyModelDir({ seed: 2 });
    dirs.push(dir);
    const graph = path.join(dir, 'onnx', 'model.onnx');
    const model = onnx.ModelProto.decode(await readFile(graph));
    model.graph!.node!.push(
      onnx.NodeProto.create({
        opType: 'If',
        name: 'branch',
        input: ['cond'],
        output: ['picked'],
        attribute: [onnx.AttributeProto.create({ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: { name: 'then' } })],
      }),
    );
    await writeFile(graph, onnx.ModelProto.encode(model).finish());
    await expect(SegmentedDecoder.open(graph, {}, 8_000)).rejects.toThrow(CannotSegmentError);
    await expect(SegmentedDecoder.open(graph, {}, 8_000)).rejects.toThrow('node branch holds a subgraph (control flow), which cannot be cut');
  });
});
