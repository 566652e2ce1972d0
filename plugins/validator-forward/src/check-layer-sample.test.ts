/**
 * The layer-sampled comparison on a real converted folder: it passes as converted, and fails when the graph and
 * the config the reference reads disagree (as when a converter built the graph from a misread config: here the
 * config is edited after the graph was built, so the graph keeps the old reading).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationReport, type ModelConfig } from '../../../src/index.js';
import { makeSubject } from '../test-support/subject.js';
import { makeTinyModelDir, qwenClaim } from '../test-support/tiny-model.js';
import onnxProto from 'onnx-proto';
import { buildQwenGraph } from '../../arch-qwen/test/family-dims.js';
import { checkLayerSample, sampleLayers } from './check-layer-sample.js';
import { readReferenceConfig } from './reference-reading/reference-config.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function run(dir: string, claimConfig: ModelConfig, overlap = false) {
  const subject = await makeSubject(dir, { claim: qwenClaim(claimConfig) });
  const report = new ValidationReport();
  const figures: Record<string, unknown> = {};
  await checkLayerSample(subject, report, readReferenceConfig(subject.config), path.join(dir, 'onnx/model.onnx'), subject.claim.validation!, figures, Infinity, undefined, overlap);
  return { finding: report.findings.find((f) => f.check === 'layer sample'), figures };
}

describe('checkLayerSample', () => {
  it('samples first, last and one layer of each kind', () => {
    expect(sampleLayers({ num_hidden_layers: 24 })).toEqual([0, 23]);
    expect(sampleLayers({ num_hidden_layers: 6, sparse_layers: [1, 3, 5] })).toEqual([0, 1, 5]);
    expect(sampleLayers({ num_hidden_layers: 4, sparse_layers: [0, 1, 2, 3] })).toEqual([0, 3]);
  });

  it.each([
    ['qwen2', {}],
    ['qwen3 untied', { family: 'qwen3' as const, tied: false }],
    ['qwen2_moe (shared expert)', { family: 'qwen2_moe' as const }],
    ['qwen3_moe', { family: 'qwen3_moe' as const }],
  ])('%s: the graph layers and head agree with the reference', async (_what, options) => {
    const { dir, config } = await makeTinyModelDir({ seed: 21, ...options });
    dirs.push(dir);
    const { finding, figures } = await run(dir, config, true);
    expect(finding?.status, finding?.message).toBe('pass');
    expect(Object.keys(figures.layerSample as object)).toContain('head');
  });

  // Both orders: the graph's slices first, then the validator's layers (within a budget), or both at once.
  it.each([
    ['rope_theta', (c: ModelConfig) => ({ ...c, rope_theta: Number(c.rope_theta ?? 10000) * 7 }), false],
    ['rms_norm_eps', (c: ModelConfig) => ({ ...c, rms_norm_eps: 0.5 }), false],
    ['linear rope scaling', (c: ModelConfig) => ({ ...c, rope_scaling: { rope_type: 'linear', factor: 4 } }), false],
    ['rope_theta', (c: ModelConfig) => ({ ...c, rope_theta: Number(c.rope_theta ?? 10000) * 7 }), true],
    ['rms_norm_eps', (c: ModelConfig) => ({ ...c, rms_norm_eps: 0.5 }), true],
  ])('fails when the graph was built from a different %s (overlapped: %s)', async (_what, edit, overlap) => {
    const { dir, config } = await makeTinyModelDir({ seed: 22 });
    dirs.push(dir);
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(edit(JSON.parse(await readFile(file, 'utf8')) as ModelConfig)));
    const { finding } = await run(dir, config, overlap);
    expect(finding?.status).toBe('fail');
    expect(finding?.message).toContain('layer 0');
  });

  it('fails on a Qwen3-MoE graph whose router normalisation disagrees with norm_topk_prob', async () => {
    const { dir, config } = await makeTinyModelDir({ seed: 23, family: 'qwen3_moe' });
    dirs.push(dir);
    const file = path.join(dir, 'config.json');
    const raw = JSON.parse(await readFile(file, 'utf8')) as ModelConfig;
    await writeFile(file, JSON.stringify({ ...raw, norm_topk_prob: raw.norm_topk_prob !== true }));
    const { finding } = await run(dir, config);
    expect(finding?.status).toBe('fail');
  });

  describe('the head: the sampled rows gathered before the head matmul', () => {
    /** A graph whose head is cut into five row chunks (64 of the 320 rows each), as big models' heads are. */
    async function chunkedHead(seed: number) {
      const { dir, config } = await makeTinyModelDir({ seed, family: 'qwen3', tied: false });
      dirs.push(dir);
      await buildQwenGraph(dir, { headChunkBytes: 64 * 64 * 4 });
      return { dir, config };
    }

    it('compares the right rows of every chunk with the reference, without the whole head', async () => {
      const { dir, config } = await chunkedHead(24);
      const model = onnxProto.onnx.ModelProto.decode(await readFile(path.join(dir, 'onnx/model.onnx')));
      expect(model.graph!.initializer!.filter((t) => t.name!.startsWith('lm_head.rows_')).length).toBe(5);
      const { finding, figures } = await run(dir, config);
      expect(finding?.status, finding?.message).toBe('pass');
      expect(figures.layerSampleHead).toBe('rows gathered');
      expect((figures.layerSample as Record<string, number>).head).toBeLessThan(1e-5);
    });

    it('fails when one chunk of the graph\'s head points one row off (the rows compared are the graph\'s own)', async () => {
      const { dir, config } = await chunkedHead(25);
      const file = path.join(dir, 'onnx/model.onnx');
      const model = onnxProto.onnx.ModelProto.decode(await readFile(file));
      const chunk = model.graph!.initializer!.find((t) => t.name === 'lm_head.rows_128')!;
      const offset = chunk.externalData!.find((e) => e.key === 'offset')!;
      offset.value = String(Number(offset.value) + 64 * 2); // one bf16 row of H = 64 further
      await writeFile(file, onnxProto.onnx.ModelProto.encode(model).finish());
      const { finding } = await run(dir, config);
      expect(finding?.status).toBe('fail');
      expect(finding?.message).toMatch(/head \d/);
    });
  });
});
