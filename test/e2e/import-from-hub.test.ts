/**
 * The whole product, as a user runs it: the real CLI (child process, built-in plugins, no config file) against
 * the fake hub on 127.0.0.1, through download, conversion, validation and registration.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { runCli } from '../support/cli.js';
import { listTree, tempDir } from '../support/temp.js';

const GRANTED = 'hf_e2e_granted_token_0123456789';
const DENIED = 'hf_e2e_denied_token_0123456789';

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({
    validTokens: [GRANTED, DENIED],
    repos: [
      { id: 'tiny-org/qwen2-tiny', files: makeTinyModel({ family: 'qwen2', seed: 11 }), cardData: { license: 'apache-2.0' } },
      { id: 'tiny-org/qwen3-sharded', files: makeTinyModel({ family: 'qwen3', seed: 12, shards: 2 }), cardData: { license: 'apache-2.0' } },
      {
        id: 'tiny-org/gated-qwen2',
        files: makeTinyModel({ family: 'qwen2', seed: 13, license: 'other' }),
        gated: 'manual',
        grantedTokens: [GRANTED],
        cardData: { license: 'other', license_name: 'tiny-license', license_link: 'LICENSE' },
      },
      {
        id: 'tiny-org/mamba',
        files: { ...makeTinyModel({ family: 'qwen2', seed: 14 }), 'config.json': new TextEncoder().encode(JSON.stringify({ architectures: ['MambaForCausalLM'], model_type: 'mamba' })) },
      },
    ],
  });
});
afterAll(async () => hub.close());

beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-e2e-'));
  hub.clearFaults();
});
afterEach(async () => cleanup());

const env = (extra: Record<string, string> = {}) => ({
  HF_ENDPOINT: hub.url,
  HF_HOME: path.join(project, 'hf-home'),
  HF_TOKEN: undefined,
  HUGGING_FACE_HUB_TOKEN: undefined,
  ...extra,
});
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: project, env: env(extra) });
const models = () => path.join(project, 'models');

/** No file under the project (models, partials, HF home) holds the token. */
async function assertTokenNowhere(token: string): Promise<void> {
  for (const rel of await listTree(project)) {
    const file = path.join(project, rel);
    const stat = await fs.stat(file);
    if (stat.isFile()) expect((await fs.readFile(file)).includes(token), `${rel} contains the token`).toBe(false);
  }
}

describe('import-model against the fake hub', () => {
  it('validation and verify show each check as it starts and as it ends', async () => {
    const imported = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes']);
    expect(imported.code, imported.stderr).toBe(0);
    const verify = await cli(['verify', 'qwen2-tiny']);
    expect(verify.code, verify.stderr).toBe(0);
    for (const stderr of [imported.stderr, verify.stderr]) {
      for (const check of ['files', 'safetensors', 'load', 'logits', 'transformers.js']) {
        // "… load" first, then "✔ load: session 0.2 s (0.3 s)", in that order.
        expect(stderr, check).toMatch(new RegExp(`(^|\\n)  … ${check.replace('.', '\\.')}\\n(?:[^]*\\n)?  ✔ ${check.replace('.', '\\.')}[:(][^\\n]*\\(\\d+\\.\\d s\\)\\n`));
      }
    }
    expect(verify.stderr).toMatch(/\n  ✔ sha256: /);
  });

  it('a rerun after a cut download says it resumes, and how much was already here', async () => {
    const builtins = ['source-local', 'source-huggingface', 'arch-qwen', 'validator-forward'].map((p) => `model-import/${p}`);
    await fs.writeFile(path.join(project, 'model-import.config.json'), JSON.stringify({ plugins: builtins, settings: { retryBudgetMs: 1500 } }));
    hub.inject({ kind: 'drop-after', bytes: 100_000, path: /\.safetensors$/, times: 1 });
    hub.inject({ kind: 'status', status: 503, path: /\.safetensors$/, times: 1_000 });
    const cut = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--skip-validation']);
    expect(cut.code, cut.stderr).toBe(8);
    hub.clearFaults();
    const rerun = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--skip-validation']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/info: model\.safetensors: resuming: 100\.0 KB already here\.\n/);
  });

  it('takes a pasted hub address (tree/<rev> page, trailing slash) under HF_ENDPOINT as the repo id and revision', async () => {
    const result = await cli(['import-model', `${hub.url}/tiny-org/qwen2-tiny/tree/main/`, '--yes', '--json', '--skip-validation']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model.model_id).toBe('tiny-org/qwen2-tiny');
    expect(model.model_name).toBe('qwen2-tiny');
    expect(model.provenance.revision).toBe('main');
  });

  it('imports a tiny Qwen2: weights linked, ONNX graph, forward pass checked, registry entry', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model).toEqual(
      expect.objectContaining({ model_name: 'qwen2-tiny', model_id: 'tiny-org/qwen2-tiny', source: 'huggingface', architecture_type: 'qwen2' }),
    );
    expect(model.license).toEqual(expect.objectContaining({ id: 'apache-2.0' }));
    expect(model.provenance.commit).toBe(hub.commitOf('tiny-org/qwen2-tiny'));
    expect(model.validation.findings.every((f: { status: string }) => f.status !== 'fail')).toBe(true);
    const dir = path.join(models(), 'qwen2-tiny');
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'metadata.json']) {
      await fs.stat(path.join(dir, file));
    }
    const verify = await cli(['verify', 'qwen2-tiny']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('imports a sharded Qwen3 and verify finds a single flipped byte', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen3-sharded', '--yes', '--name', 'q3']);
    expect(result.code, result.stderr).toBe(0);
    const shard = path.join(models(), 'q3', 'model-00002-of-00002.safetensors');
    const bytes = await fs.readFile(shard);
    bytes[bytes.length - 3] ^= 0x01;
    await fs.writeFile(shard, bytes);
    const verify = await cli(['verify', 'q3']);
    expect(verify.code).toBe(9);
    expect(verify.stderr).toContain('failed verification');
  });

  it('--dtype f32 rewrites the weights; the hashes recorded while writing are the ones verify finds', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--dtype', 'f32', '--name', 'q2-f32', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model.conversion.dtype).toBe('f32');
    const weights = model.files.find((f: { path: string }) => f.path === 'model.safetensors');
    const bytes = await fs.readFile(path.join(models(), 'q2-f32', 'model.safetensors'));
    expect(weights.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const verify = await cli(['verify', 'q2-f32']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('an unsupported architecture fails before any weight byte, listing the supported ones', async () => {
    const before = hub.weightBytesServed();
    const result = await cli(['import-model', 'tiny-org/mamba', '--yes']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('MambaForCausalLM');
    expect(result.stderr).toContain('Qwen2ForCausalLM');
    expect(hub.weightBytesServed()).toBe(before);
    expect(await listTree(models()).then((t) => t.filter((p) => !p.startsWith('.')))).toEqual([]);
  });

  it('a gated repo: no token, a denied token, then a granted one; the token is never written anywhere', async () => {
    const before = hub.weightBytesServed();
    const none = await cli(['import-model', 'tiny-org/gated-qwen2', '--yes']);
    expect(none.code).toBe(4);
    const denied = await cli(['import-model', 'tiny-org/gated-qwen2', '--yes', '--token', DENIED]);
    expect(denied.code).toBe(4);
    expect(denied.stderr).not.toContain(DENIED);
    expect(hub.weightBytesServed()).toBe(before);
    const granted = await cli(['import-model', 'tiny-org/gated-qwen2', '--accept-license', '--json'], { HF_TOKEN: GRANTED });
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout).model.license).toEqual(expect.objectContaining({ id: 'other', name: 'tiny-license' }));
    expect(granted.stderr + granted.stdout).not.toContain(GRANTED);
    await assertTokenNowhere(GRANTED);
    await assertTokenNowhere(DENIED);
  });

  it('a hub that keeps failing ends with a network error, nothing registered, a resumable partial kept', async () => {
    const builtins = ['source-local', 'source-huggingface', 'arch-qwen', 'validator-forward'].map((p) => `model-import/${p}`);
    await fs.writeFile(path.join(project, 'model-import.config.json'), JSON.stringify({ plugins: builtins, settings: { retryBudgetMs: 1500 } }));
    hub.inject({ kind: 'status', status: 503, path: /\.safetensors$/, times: 1_000 });
    const result = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes']);
    expect(result.code, result.stderr).toBe(8);
    expect(result.stderr).toMatch(/error: .*model\.safetensors/);
    await expect(fs.stat(path.join(models(), 'registry.json'))).rejects.toThrow();
    expect((await listTree(models())).filter((p) => !p.startsWith('.'))).toEqual([]);
    hub.clearFaults();
    const rerun = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes']);
    expect(rerun.code, rerun.stderr).toBe(0);
  });
});
