/**
 * The hybrid Qwen decoders end to end, as a user runs them: the real CLI (child process, built-in plugins)
 * against the fake hub, for a Qwen3-Next-shaped MoE (published config with only full_attention_interval), a
 * Qwen3.5 dense wrapper with a vision tower and an MTP head, and a Qwen3.5-MoE wrapper. Each must register with
 * every published tensor bit-exact in the model folder, config.json carrying layer_types, and metadata.json saying
 * what was validated (the text decoder) and what was kept without validation (vision tower, MTP head).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyHybridModel, tinyHybridTensors, type TinyHybridOptions } from '../fixtures/tiny-hybrid-models.js';
import { SafetensorsReader } from '../../src/index.js';
import { hubCliEnv, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

const REPOS: Array<[string, TinyHybridOptions]> = [
  ['tiny-org/qwen3-next-tiny', { family: 'qwen3_next', seed: 31, intervalOnly: true, legacy: true }],
  ['tiny-org/qwen3.5-tiny', { family: 'qwen3_5', seed: 32 }],
  ['tiny-org/qwen3.5-moe-tiny', { family: 'qwen3_5_moe', seed: 33 }],
];

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({
    repos: [
      ...REPOS.map(([id, options]) => ({ id, files: makeTinyHybridModel(options), cardData: { license: 'apache-2.0' } })),
      {
        id: 'tiny-org/qwen3-vl-tiny',
        files: { ...makeTinyHybridModel({ family: 'qwen3_5', seed: 34 }), 'config.json': new TextEncoder().encode(JSON.stringify({ architectures: ['Qwen3VLForConditionalGeneration'], model_type: 'qwen3_vl' })) },
      },
    ],
  });
  ({ dir: project, cleanup } = await tempDir('model-import-hybrid-e2e-'));
});
afterAll(async () => {
  await hub.close();
  await cleanup();
});

const cli = (args: string[]) => runCli(args, {
  cwd: project,
  env: hubCliEnv(hub.url, project),
});

async function tensorsOf(file: string): Promise<Map<string, Uint8Array>> {
  const reader = await SafetensorsReader.open(file);
  try {
    const out = new Map<string, Uint8Array>();
    for (const t of reader.tensors) out.set(t.name, await reader.read(t));
    return out;
  } finally {
    await reader.close();
  }
}

describe('import-model: hybrid Qwen decoders through the fake hub', () => {
  it.each(REPOS)('%s registers with every tensor bit-exact, layer_types published and the validation scope recorded', async (id, options) => {
    const result = await cli(['import-model', id, '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    const name = id.split('/')[1]!;
    const dir = path.join(project, 'models', name);
    expect(model.model_name).toBe(name);
    expect(model.architecture_type).toBe(options.family);
    expect(model.validation.findings.every((f: { status: string }) => f.status !== 'fail')).toBe(true);

    // Every published tensor, the vision tower's and the MTP head's included, byte for byte.
    const published = tinyHybridTensors(options);
    const stored = await tensorsOf(path.join(dir, 'model.safetensors'));
    expect([...stored.keys()].sort()).toEqual(published.map((t) => t.name).sort());
    for (const t of published) expect(Buffer.compare(Buffer.from(stored.get(t.name)!), Buffer.from(t.data)), t.name).toBe(0);
    expect(model.model_size).toBe(published.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0));

    // config.json: layer_types where transformers.js reads it (text_config for the wrappers).
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    const text = options.family === 'qwen3_next' ? config : config.text_config;
    expect(text.layer_types).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);

    // metadata.json (and the registry entry) say what was validated and what was only kept.
    const metadata = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'));
    const kept = (prefix: string) => published.filter((t) => t.name.startsWith(prefix)).length;
    const expectedKept = [
      ...(kept('model.visual.') > 0 ? [{ part: 'vision tower', prefix: 'model.visual.', tensors: kept('model.visual.') }] : []),
      { part: 'MTP head', prefix: 'mtp.', tensors: kept('mtp.') },
    ];
    const scope = metadata.validation_scope;
    expect(scope).toEqual(model.validation_scope);
    const keptParts = scope.kept_not_validated.filter((p: { part: string }) => p.part !== 'text decoder');
    expect(keptParts).toEqual(expectedKept.map((p) => expect.objectContaining({ ...p, bytes: 'as published' })));
    const decoderTensors = published.length - kept('model.visual.') - kept('mtp.');
    // The text decoder is validated: the graph's logits against the reference forward, the cached decode step
    // against the full sequence, and transformers.js's greedy tokens against the graph's.
    const status = (check: string) => model.validation.findings.find((f: { check: string }) => f.check === check)?.status;
    for (const check of ['config reading', 'tensor names', 'logits', 'reference', 'kv-cache', 'layer sample', 'transformers.js']) expect(status(check), check).toBe('pass');
    // On these (well-conditioned) fixtures the graph is within 1e-4 of the reference, as issue 12 asks; the
    // family's 1e-3 tolerance is for checkpoints whose float32 floor is higher (hybrid-float32-floor.test.ts).
    expect(model.validation.figures.forward.referenceMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(scope.validated).toEqual([{ part: 'text decoder', tensors: decoderTensors, parameters: expect.any(Number), checks: ['logits', 'reference', 'kv-cache', 'transformers.js', 'layer sample'] }]);
    expect(scope.kept_not_validated.some((p: { part: string }) => p.part === 'text decoder')).toBe(false);
    for (const file of ['onnx/model.onnx', ...(options.family === 'qwen3_next' ? [] : ['onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'])]) {
      await fs.stat(path.join(dir, file));
    }
    if (options.family === 'qwen3_5_moe') {
      // verify re-reads the registered folder (recognition without a plan, every check again, sha256 of every file).
      const verify = await cli(['verify', name]);
      expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    }
  });

  it('with --skip-validation the scope lists the text decoder as not validated too', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen3.5-tiny', '--yes', '--json', '--skip-validation', '--name', 'q35-unchecked']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model.validation_scope.validated).toEqual([]);
    expect(model.validation_scope.kept_not_validated.map((p: { part: string; why: string }) => [p.part, p.why])).toEqual([
      ['text decoder', 'validation skipped (--skip-validation)'],
      ['vision tower', 'not part of the text decoder: kept byte for byte, never computed'],
      ['MTP head', 'not part of the text decoder: kept byte for byte, never computed'],
    ]);
  });

  it('Qwen3-VL stays a clear refusal that lists the supported architectures', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen3-vl-tiny', '--yes', '--json']);
    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout);
    expect(JSON.stringify(out)).toMatch(/Qwen3VLForConditionalGeneration/);
    expect(JSON.stringify(out)).toMatch(/Qwen3NextForCausalLM.*Qwen3_5ForConditionalGeneration.*Qwen3_5MoeForConditionalGeneration/);
  });
});
