import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationReport } from '../../../src/index.js';
import { makeTinyModelDir } from '../test-support/tiny-model.js';
import { checkTransformersJs } from './check-transformers-js.js';
import { TransformersJsWorker } from './transformers-js-client.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function workerFor(dir: string) {
  const worker = TransformersJsWorker.start();
  cleanup.push(() => worker.close());
  const answer = await worker.ask({ type: 'tokenize', modelDir: dir, prompt: 'Hello world' }, 60_000);
  expect(answer).toMatchObject({ type: 'tokens', ids: [294, 297] });
  return worker;
}

async function check(worker: TransformersJsWorker, dir: string, expected: number[]) {
  const report = new ValidationReport();
  const figures: Record<string, unknown> = {};
  const loading = worker.ask({ type: 'load', modelDir: dir }, 60_000);
  await checkTransformersJs({ report, worker, loading, promptIds: [294, 297], expected, timeoutMs: 60_000, figures });
  return { finding: report.findings[0], figures };
}

describe('checkTransformersJs', () => {
  it('passes when transformers.js generates the expected tokens, and fails naming the first difference', async () => {
    const { dir } = await makeTinyModelDir({ seed: 4 });
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const worker = await workerFor(dir);
    const first = await check(worker, dir, [0, 0, 0]);
    expect(first.finding).toMatchObject({ status: 'fail', check: 'transformers.js' });
    const tokens = (first.figures.transformersJs as { tokens: number[] }).tokens;
    expect(tokens).toHaveLength(3);
    expect(first.finding.message).toBe(
      `transformers.js generated [${tokens.join(', ')}], onnxruntime [0, 0, 0]: first difference at new token ${tokens.findIndex((t) => t !== 0) + 1}`,
    );
    const again = await check(worker, dir, tokens);
    expect(again.finding).toMatchObject({ status: 'pass', figure: expect.stringMatching(/^3 greedy tokens match; load [\d.]+ m?s$/) });
  });

  it('fails with transformers.js\'s reason when from_pretrained cannot load the folder', async () => {
    const { dir } = await makeTinyModelDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    await writeFile(configFile, JSON.stringify({ ...config, model_type: 'no-such-model', architectures: ['NoSuchModel'] }));
    const worker = await workerFor(dir);
    const { finding } = await check(worker, dir, [1, 2, 3]);
    expect(finding).toMatchObject({ status: 'fail', message: expect.stringMatching(/^from_pretrained failed: .+/) });
  });

  it('never reaches for the network: a file missing from the folder fails instead of being downloaded', async () => {
    const { dir } = await makeTinyModelDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await rm(path.join(dir, 'onnx', 'model.onnx'));
    const worker = await workerFor(dir);
    const { finding } = await check(worker, dir, [1, 2, 3]);
    expect(finding.message).toMatch(/^from_pretrained failed: .*allowRemoteModels=false.* not found locally at ".*onnx\/model\.onnx"/);
  });

  it('turns a worker that dies into a failure instead of hanging', async () => {
    const { dir } = await makeTinyModelDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const worker = await workerFor(dir);
    process.kill(worker.pid!, 'SIGKILL');
    const { finding } = await check(worker, dir, [1, 2, 3]);
    expect(finding).toMatchObject({ status: 'fail', message: expect.stringMatching(/transformers\.js process killed by SIGKILL/) });
  });
});
