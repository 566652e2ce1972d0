/**
 * A layer slice of a hybrid graph (Gated DeltaNet layers with If / Scan / Loop bodies reading outer values, their
 * all-zero first states fed from the declarations): from layer 0's input to the logits it computes what the whole
 * graph computes from the embedded prompt.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../src/index.js';
import { buildDecoderGraph, ModelWeights } from '../../decoder-kit/index.js';
import { qwenDims } from '../../arch-qwen/test/family-dims.js';
import { writeSeededModel } from '../../decoder-kit/testing.js';
import { LayerSlices } from './layer-slices.js';
import { OrtDecoder } from './ort-decoder.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('LayerSlices on a hybrid graph', () => {
  it('layer 0 input -> logits equals the whole graph', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'slices-hybrid-'));
    dirs.push(dir);
    await writeSeededModel(dir, { family: 'qwen3_5', dtype: 'f32', tied: false, seed: 71 });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
    const graph = path.join(dir, (await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) })).graphPath);
    const ids = [3, 14, 15, 92, 65];
    const whole = await OrtDecoder.open(graph, {});
    const [expected] = await whole.run([{ ids: [ids], mask: [ids.map(() => 1)] }]);
    await whole.release();

    const weights = await ModelWeights.open(dir);
    const H = 32;
    const table = await weights.float32('model.language_model.embed_tokens.weight', [96, H]);
    const hidden = new Float32Array(ids.length * H);
    ids.forEach((id, s) => hidden.set(table.subarray(id * H, (id + 1) * H), s * H));
    const slices = await LayerSlices.open(graph);
    const input = slices.normInput('model.language_model.layers.0.input_layernorm.weight');
    const logits = await slices.run(input, 'logits', hidden, ids.length, H);
    let max = 0;
    logits.forEach((v, i) => (max = Math.max(max, Math.abs(v - expected.logits[i]))));
    expect(max).toBeLessThan(1e-5);
  });
});
