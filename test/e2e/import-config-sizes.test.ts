/**
 * A config.json that leaves out a core size (hidden_size, num_hidden_layers, ...) or gives one of the wrong type is
 * refused at recognition, before any weight byte, as a user sees it: the real CLI against the fake hub. Before,
 * such a config was read with transformers' defaults (one particular model's sizes), passed recognition, was
 * downloaded in full and failed at the ONNX step.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel, tinyConfig, type TinyModelOptions } from '../fixtures/tiny-models.js';
import { makeTinyHybridModel, tinyHybridConfig } from '../fixtures/tiny-hybrid-models.js';
import { hubCliEnv, runCli } from '../support/cli.js';
import { listTree, tempDir } from '../support/temp.js';

const encode = (config: unknown) => new TextEncoder().encode(JSON.stringify(config, null, 2));

/** The tiny model's files with config.json edited (`undefined` deletes the key). */
function withConfig(options: TinyModelOptions, changes: Record<string, unknown>) {
  const config: Record<string, unknown> = { ...tinyConfig(options) };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  return makeTinyModel({ ...options, extraFiles: { 'config.json': encode(config) } });
}

function hybridWithoutTextKey(key: string) {
  const config = tinyHybridConfig({ family: 'qwen3_5' });
  const text = { ...(config.text_config as Record<string, unknown>) };
  delete text[key];
  return { ...makeTinyHybridModel({ family: 'qwen3_5', seed: 45 }), 'config.json': encode({ ...config, text_config: text }) };
}

/** repo, the key the message must name, what the line says about it. */
const CASES: Array<[string, string, RegExp]> = [
  ['tiny-org/qwen2-no-hidden-size', 'hidden_size', /Qwen2ForCausalLM: config\.json hidden_size is missing \(transformers would assume 4096/],
  ['tiny-org/qwen3-layers-as-string', 'num_hidden_layers', /Qwen3ForCausalLM: config\.json num_hidden_layers is "2", expected an integer in 1\.\.1000/],
  ['tiny-org/qwen2-negative-width', 'intermediate_size', /Qwen2ForCausalLM: config\.json intermediate_size is -128, expected an integer/],
  ['tiny-org/qwen3-fractional-vocab', 'vocab_size', /Qwen3ForCausalLM: config\.json vocab_size is 320\.5, expected an integer/],
  ['tiny-org/qwen3.5-no-heads', 'num_attention_heads', /Qwen3_5ForConditionalGeneration: config\.json text_config\.num_attention_heads is missing \(transformers would assume 16/],
];

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({
    repos: [
      { id: CASES[0][0], files: withConfig({ family: 'qwen2', seed: 41 }, { hidden_size: undefined }) },
      { id: CASES[1][0], files: withConfig({ family: 'qwen3', seed: 42 }, { num_hidden_layers: '2' }) },
      { id: CASES[2][0], files: withConfig({ family: 'qwen2', seed: 43 }, { intermediate_size: -128 }) },
      { id: CASES[3][0], files: withConfig({ family: 'qwen3', seed: 44 }, { vocab_size: 320.5 }) },
      { id: CASES[4][0], files: hybridWithoutTextKey('num_attention_heads') },
    ].map((repo) => ({ ...repo, cardData: { license: 'apache-2.0' } })),
  });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-sizes-'));
});
afterEach(async () => cleanup());

const cli = (args: string[]) =>
  runCli(args, { cwd: project, env: hubCliEnv(hub.url, project) });

describe('a config.json with a core size missing or malformed', () => {
  it.each(CASES)('%s: exit 3 naming %s, before any weight byte, nothing registered', async (repo, key, says) => {
    const before = hub.weightBytesServed();
    const result = await cli(['import-model', repo, '--yes']);
    expect(result.code, result.stderr).toBe(3);
    const errorLines = result.stderr.split('\n').filter((line) => /error/i.test(line));
    expect(errorLines, result.stderr).toHaveLength(1);
    expect(errorLines[0]).toMatch(says);
    expect(result.stderr).toContain(key);
    expect(hub.weightBytesServed()).toBe(before);
    // Nothing registered and no model folder; partials and blobs (dot folders) hold no weight byte either.
    expect(await listTree(path.join(project, 'models')).then((t) => t.filter((p) => !p.startsWith('.'))).catch(() => [])).toEqual([]);
  });

  it('--json: UNSUPPORTED_VARIANT with the key in the details and a hint saying what to do', async () => {
    const result = await cli(['import-model', CASES[0][0], '--yes', '--json']);
    expect(result.code).toBe(3);
    const { ok, error } = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; exitCode: number; hint: string; details?: Record<string, unknown> } };
    expect(ok).toBe(false);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_VARIANT', exitCode: 3, details: { architecture: 'Qwen2ForCausalLM', key: 'hidden_size' } });
    expect(error.hint).toMatch(/^Add hidden_size to config\.json with the checkpoint's value/);
  });
});
