/**
 * Scaled RoPE as Qwen documents it for long context (rope_scaling yarn on Qwen2.5 / Qwen3 configs), imported as
 * a user would: the real CLI against the fake hub. The graph computes the scaled frequencies, and every check
 * (the converter's reading vs the validator's, the reference forward, the layer sample) passes on them.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel, tinyConfig, type TinyModelOptions } from '../fixtures/tiny-models.js';
import { hubCliEnv, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

function withRope(options: TinyModelOptions, rope: Record<string, unknown>) {
  const config = { ...tinyConfig(options), ...rope };
  return makeTinyModel({ ...options, extraFiles: { 'config.json': new TextEncoder().encode(JSON.stringify(config, null, 2)) } });
}

beforeAll(async () => {
  hub = await startFakeHub({
    repos: [
      { id: 'tiny-org/qwen2-yarn', files: withRope({ family: 'qwen2', seed: 31 }, { rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32 } }), cardData: { license: 'apache-2.0' } },
      { id: 'tiny-org/qwen3-linear', files: withRope({ family: 'qwen3', seed: 32 }, { rope_scaling: { rope_type: 'linear', factor: 2 } }), cardData: { license: 'apache-2.0' } },
    ],
  });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-rope-'));
});
afterEach(async () => cleanup());

const cli = (args: string[]) =>
  runCli(args, { cwd: project, env: hubCliEnv(hub.url, project) });

describe('import-model with scaled RoPE', () => {
  it.each(['tiny-org/qwen2-yarn', 'tiny-org/qwen3-linear'])('%s imports and validates', async (repo) => {
    const result = await cli(['import-model', repo, '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const findings = JSON.parse(result.stdout).model.validation.findings as Array<{ check: string; status: string; message?: string }>;
    expect(findings.filter((f) => f.status !== 'pass'), JSON.stringify(findings)).toEqual([]);
    for (const check of ['config reading', 'reference', 'layer sample']) expect(findings.find((f) => f.check === check)?.status, check).toBe('pass');
  });
});
