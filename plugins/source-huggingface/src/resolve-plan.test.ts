import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isModelImportError, type ModelImportError } from '../../../src/index.js';
import {
  DENIED,
  GRANTED,
  OTHER,
  QWEN2_CONFIG,
  ScriptedPrompter,
  bytes,
  expectTokenNowhere,
  startHarness,
  tinyRepo,
  tinyRepoFiles,
  weightRequests,
  type Harness,
} from '../test-support/harness.js';
import type { RepoFiles } from '../../../test/fake-hub/index.js';
import { NAME } from './names.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function rejection(p: Promise<unknown>): Promise<ModelImportError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isModelImportError(error)) throw new Error(`expected a ModelImportError, got ${String(error)}`);
  return error;
}

const resolve = (hh: Harness, spec: string, ctx = hh.context()) => hh.hooks.resolve.promise({ spec, options: ctx.options }, ctx);

describe('resolve', () => {
  it('pins a plan to the commit with config, license, and only the files a checkpoint needs', async () => {
    h = await startHarness([tinyRepo()]);
    const plan = (await resolve(h, 'tiny-org/qwen2-tiny'))!;
    const commit = h.hub.commitOf('tiny-org/qwen2-tiny');
    expect(plan).toMatchObject({ source: 'huggingface', resolvedBy: NAME, modelId: 'tiny-org/qwen2-tiny', revision: 'main', commit, gated: false, private: false, data: { endpoint: h.hub.url } });
    expect(plan.config).toEqual(QWEN2_CONFIG);
    expect(plan.files.map((f) => [f.path, f.role])).toEqual([
      ['config.json', 'config'],
      ['generation_config.json', 'generation-config'],
      ['merges.txt', 'tokenizer'],
      ['tokenizer.json', 'tokenizer'],
      ['tokenizer_config.json', 'tokenizer'],
      ['vocab.json', 'tokenizer'],
      ['LICENSE', 'license'],
      ['model.safetensors', 'weights'],
    ]);
    const weights = plan.files.find((f) => f.path === 'model.safetensors')!;
    expect(weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(weights.size).toBe(300_000);
    expect(plan.files.find((f) => f.path === 'config.json')!.gitOid).toMatch(/^[0-9a-f]{40}$/);
    expect(plan.license).toMatchObject({ id: 'apache-2.0', file: 'LICENSE', link: `${h.hub.url}/tiny-org/qwen2-tiny/blob/${commit}/LICENSE` });
    // 25 lines, terminal escapes removed
    expect(plan.license!.excerpt!.split('\n')).toHaveLength(25);
    expect(plan.license!.excerpt).not.toContain('\x1b');
    expect(plan.license!.excerpt!.startsWith('License line 1\n')).toBe(true);
    // every request after model info is pinned to the commit; no weight byte was asked for
    const later = h.hub.requests.filter((r) => !r.path.startsWith('/api/models/tiny-org/qwen2-tiny/revision/'));
    expect(later.length).toBeGreaterThan(0);
    for (const r of later) expect(r.path).toContain(commit);
    expect(weightRequests(h.hub)).toEqual([]);
    expect(h.hub.weightBytesServed()).toBe(0);
    expect(JSON.stringify(plan.data)).not.toMatch(/hf_/);
  });

  it('leaves local paths to other sources', async () => {
    h = await startHarness([tinyRepo()]);
    const folder = path.join(h.root, 'some-model');
    await mkdir(folder);
    for (const spec of ['./model', '../x', '/abs/path', '~/models/x', folder]) expect(await resolve(h, spec)).toBeUndefined();
    expect(h.hub.requests).toEqual([]);
  });

  it.each([
    ['a/b/c', "more than one '/'"],
    ['org/na me', 'may only contain'],
    ['org/name--x', "'--' or '..'"],
    ['org/name..x', "'--' or '..'"],
    ['-org/name', "starts or ends with '.' or '-'"],
    ['org/name.', "starts or ends with '.' or '-'"],
    ['org/' + 'x'.repeat(97), 'longer than 96'],
    ['org/', 'name is empty'],
    ['', 'name is empty'],
  ])('refuses the repo id %j before any request', async (spec, why) => {
    h = await startHarness([tinyRepo()]);
    const error = await rejection(resolve(h, spec));
    expect(error.code).toBe('INVALID_REPO_ID');
    expect(error.message).toContain(why);
    expect(error.hint).toContain('org/name');
    expect(h.hub.requests).toEqual([]);
  });

  it('accepts a bare name and names at the length limit', async () => {
    h = await startHarness([tinyRepo('gpt2'), tinyRepo(`org/${'x'.repeat(96)}`)]);
    expect((await resolve(h, 'gpt2'))!.modelId).toBe('gpt2');
    expect((await resolve(h, `org/${'x'.repeat(96)}`))!.modelId).toHaveLength(100);
  });

  it.each(['HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'])('is OFFLINE with %s set, before any request', async (variable) => {
    h = await startHarness([tinyRepo()]);
    for (const value of ['1', 'ON', 'yes', 'True']) {
      const error = await rejection(resolve(h, 'tiny-org/qwen2-tiny', h.context({ env: { ...h.env, [variable]: value } })));
      expect(error.code).toBe('OFFLINE');
      expect(error.message).toContain(variable);
      expect(error.hint).toMatch(/local folder/);
    }
    expect(await resolve(h, 'tiny-org/qwen2-tiny', h.context({ env: { ...h.env, HF_HUB_OFFLINE: '0' } }))).toBeDefined();
    expect(h.hub.requests.filter((r) => r.path.includes('/revision/'))).toHaveLength(1);
  });

  it('takes the endpoint from the option, then settings.hubEndpoint, then HF_ENDPOINT (trailing / stripped)', async () => {
    h = await startHarness([tinyRepo()], { endpoint: undefined });
    const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
    const viaSettings = await resolve(h, 'tiny-org/qwen2-tiny', h.context({ settings: { hubEndpoint: `${h.hub.url}/` }, env: { ...h.env, HF_ENDPOINT: dead } }));
    expect(viaSettings!.data.endpoint).toBe(h.hub.url);
    const viaEnv = await resolve(h, 'tiny-org/qwen2-tiny', h.context({ env: { ...h.env, HF_ENDPOINT: `${h.hub.url}//` } }));
    expect(viaEnv!.data.endpoint).toBe(h.hub.url);
    const bad = await rejection(resolve(h, 'tiny-org/qwen2-tiny', h.context({ env: { ...h.env, HF_ENDPOINT: 'ftp://x' } })));
    expect(bad.code).toBe('CONFIG_INVALID');
  });

  it('REPO_NOT_FOUND for a missing repo, REVISION_NOT_FOUND for a missing revision', async () => {
    h = await startHarness([tinyRepo()]);
    const missing = await rejection(resolve(h, 'tiny-org/nope'));
    expect(missing.code).toBe('REPO_NOT_FOUND');
    expect(missing.message).toBe(`Repository tiny-org/nope was not found on ${h.hub.url}.`);
    expect(missing.hint).toMatch(/--token or set HF_TOKEN/);
    const rev = await rejection(resolve(h, 'tiny-org/qwen2-tiny', h.context({ options: { revision: 'v9' } })));
    expect(rev.code).toBe('REVISION_NOT_FOUND');
    expect(rev.message).toContain('"v9"');
  });

  it('resolves a branch to its own commit', async () => {
    const dev = { ...tinyRepoFiles(), 'config.json': new TextEncoder().encode(JSON.stringify({ ...QWEN2_CONFIG, hidden_size: 128 })) };
    h = await startHarness([tinyRepo('tiny-org/qwen2-tiny', { branches: { dev } })]);
    const plan = (await resolve(h, 'tiny-org/qwen2-tiny', h.context({ options: { revision: 'dev' } })))!;
    expect(plan.commit).toBe(h.hub.commitOf('tiny-org/qwen2-tiny', 'dev'));
    expect(plan.commit).not.toBe(h.hub.commitOf('tiny-org/qwen2-tiny'));
    expect(plan.config.hidden_size).toBe(128);
  });

  it('refuses a listing with a path that escapes, even one it would not download', async () => {
    for (const hostile of ['../../etc/passwd', 'onnx/../../x', 'a//b', 'con.json']) {
      h = await startHarness([tinyRepo('tiny-org/hostile-paths', { extraTreeEntries: [{ path: hostile, size: 10 }] })]);
      const error = await rejection(resolve(h, 'tiny-org/hostile-paths'));
      expect(error.code, hostile).toBe('UNSAFE_PATH');
      expect(h.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
      await h.close();
      h = undefined;
    }
  });

  it('prefers safetensors over .bin, takes .bin when that is all there is, and picks complete shard sets', async () => {
    const files = tinyRepoFiles();
    const binOnly: RepoFiles = { ...files, 'pytorch_model.bin': files['model.safetensors'] };
    delete binOnly['model.safetensors'];
    const both: RepoFiles = { ...files, 'pytorch_model.bin': bytes(1000, 5) };
    const sharded: RepoFiles = { ...files, 'model.safetensors.index.json': new TextEncoder().encode('{"weight_map":{}}'), 'model-00001-of-00002.safetensors': bytes(100, 1), 'model-00002-of-00002.safetensors': bytes(100, 2), 'model-00001-of-00003.safetensors': bytes(100, 3), 'model.fp16.safetensors': bytes(10, 1) };
    delete sharded['model.safetensors'];
    h = await startHarness([
      { id: 'o/bin', files: binOnly },
      { id: 'o/both', files: both },
      { id: 'o/sharded', files: sharded },
    ]);
    const weights = async (id: string) => (await resolve(h!, id))!.files.filter((f) => f.role.startsWith('weights')).map((f) => `${f.path}:${f.role}`);
    expect(await weights('o/bin')).toEqual(['pytorch_model.bin:weights']);
    expect(await weights('o/both')).toEqual(['model.safetensors:weights']);
    expect(await weights('o/sharded')).toEqual(['model.safetensors.index.json:weights-index', 'model-00001-of-00002.safetensors:weights', 'model-00002-of-00002.safetensors:weights']);
  });

  it('a repo without transformers weights is UNSUPPORTED_VARIANT naming what it has', async () => {
    const files = tinyRepoFiles();
    delete files['model.safetensors'];
    h = await startHarness([{ id: 'o/gguf-only', files }]);
    const error = await rejection(resolve(h, 'o/gguf-only'));
    expect(error.code).toBe('UNSUPPORTED_VARIANT');
    expect(error.hint).toContain('model.gguf');
  });

  it('config.json: BAD_INPUT when not JSON or too large, FILE_NOT_FOUND when absent', async () => {
    const notJson = { ...tinyRepoFiles(), 'config.json': new TextEncoder().encode('{"architectures": [') };
    const noConfig = tinyRepoFiles();
    delete noConfig['config.json'];
    h = await startHarness([{ id: 'o/not-json', files: notJson }, { id: 'o/no-config', files: noConfig }, tinyRepo('o/big-config', { declaredSizes: { 'config.json': 6 * 2 ** 20 } })]);
    const bad = await rejection(resolve(h, 'o/not-json'));
    expect(bad.code).toBe('BAD_INPUT');
    expect(bad.message).toMatch(/config.json of o\/not-json is not valid JSON/);
    expect((await rejection(resolve(h, 'o/no-config'))).code).toBe('FILE_NOT_FOUND');
    expect((await rejection(resolve(h, 'o/big-config'))).code).toBe('BAD_INPUT');
  });

  it('reads license other + license_name + license_link, and the license: tag as a fallback', async () => {
    h = await startHarness([
      tinyRepo('o/license-other', { cardData: { license: 'other', license_name: 'qwen', license_link: 'LICENSE' } }),
      tinyRepo('o/license-tag', { cardData: {}, tags: ['license:mit'] }),
    ]);
    const other = (await resolve(h, 'o/license-other'))!;
    expect(other.license).toMatchObject({ id: 'other', name: 'qwen', link: `${h.hub.url}/o/license-other/blob/${other.commit}/LICENSE` });
    const tag = (await resolve(h, 'o/license-tag'))!;
    expect(tag.license?.id).toBe('mit');
  });

  describe('gated and private repos', () => {
    const gated = () => tinyRepo('tiny-org/gated-qwen2', { gated: 'manual', grantedTokens: [GRANTED] });

    it('TOKEN_REQUIRED without a token and no terminal, naming --token and HF_TOKEN and the terms URL', async () => {
      h = await startHarness([gated()], {}, { validTokens: [DENIED, OTHER] });
      const error = await rejection(resolve(h, 'tiny-org/gated-qwen2'));
      expect(error.code).toBe('TOKEN_REQUIRED');
      expect(error.hint).toContain('--token');
      expect(error.hint).toContain('HF_TOKEN');
      expect(error.hint).toContain(`${h.hub.url}/tiny-org/gated-qwen2`);
      expect(h.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    });

    it('ACCESS_DENIED with a token that was not granted, pointing at the terms page; never retried', async () => {
      h = await startHarness([gated()], {}, { validTokens: [DENIED, OTHER] });
      const error = await rejection(resolve(h, 'tiny-org/gated-qwen2', h.context({ env: { ...h.env, HF_TOKEN: DENIED } })));
      expect(error.code).toBe('ACCESS_DENIED');
      expect(error.message).toContain('HF_TOKEN');
      expect(error.hint).toContain(`${h.hub.url}/tiny-org/gated-qwen2`);
      expect(h.hub.requests.filter((r) => r.status === 403)).toHaveLength(1);
      expect(error.message + error.hint).not.toContain(DENIED);
      expect(weightRequests(h.hub)).toEqual([]);
    });

    it('TOKEN_INVALID for a token the hub rejects; never retried', async () => {
      h = await startHarness([gated()], {}, { validTokens: [DENIED] });
      const error = await rejection(resolve(h, 'tiny-org/gated-qwen2', h.context({ options: { token: 'hf_revoked_token_999999' } })));
      expect(error.code).toBe('TOKEN_INVALID');
      expect(error.message).toContain('--token');
      expect(h.hub.requests.filter((r) => r.status === 401)).toHaveLength(1);
    });

    it('with the granted token: the config is read after the probe, and the token went to the hub only', async () => {
      h = await startHarness([gated()], {}, { validTokens: [DENIED] });
      const plan = (await resolve(h, 'tiny-org/gated-qwen2', h.context({ env: { ...h.env, HF_TOKEN: GRANTED } })))!;
      expect(plan.gated).toBe(true);
      expect(plan.config).toEqual(QWEN2_CONFIG);
      const resolves = h.hub.requests.filter((r) => r.path.includes('/resolve/'));
      expect(resolves[0]).toMatchObject({ range: 'bytes=0-0', status: 206 });
      expect(resolves[0].path).toMatch(/config\.json$/);
      expect(h.hub.requests.every((r) => r.authorization === `Bearer ${GRANTED}`)).toBe(true);
      expect(JSON.stringify(plan)).not.toContain(GRANTED);
      expect(weightRequests(h.hub)).toEqual([]);
      await expectTokenNowhere(h, GRANTED);
    });

    it('asks for the token with a terminal, then uses it', async () => {
      h = await startHarness([gated()], {}, { validTokens: [DENIED] });
      const prompter = new ScriptedPrompter([`  ${GRANTED}\n`]);
      const plan = await resolve(h, 'tiny-org/gated-qwen2', h.context({ prompter }));
      expect(plan?.gated).toBe(true);
      expect(prompter.asked).toEqual([{ message: expect.stringContaining('gated'), flag: '--token' }]);
    });

    it('private repo: found with the token, REPO_NOT_FOUND without', async () => {
      h = await startHarness([tinyRepo('o/private', { private: true, grantedTokens: [GRANTED] })]);
      const anonymous = await rejection(resolve(h, 'o/private'));
      expect(anonymous.code).toBe('REPO_NOT_FOUND');
      const plan = await resolve(h, 'o/private', h.context({ options: { token: GRANTED } }));
      expect(plan?.private).toBe(true);
    });

    it('HF_HUB_DISABLE_IMPLICIT_TOKEN: env tokens go only to repos that need them', async () => {
      h = await startHarness([tinyRepo(), gated(), tinyRepo('o/private', { private: true, grantedTokens: [GRANTED] })]);
      const env = { ...h.env, HF_TOKEN: GRANTED, HF_HUB_DISABLE_IMPLICIT_TOKEN: '1' };
      await resolve(h, 'tiny-org/qwen2-tiny', h.context({ env }));
      expect(h.hub.requests.every((r) => r.authorization === undefined)).toBe(true);
      h.hub.requests.length = 0;
      await resolve(h, 'tiny-org/gated-qwen2', h.context({ env }));
      expect(h.hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === `Bearer ${GRANTED}`)).toBe(true);
      expect((await resolve(h, 'o/private', h.context({ env })))?.private).toBe(true);
    });
  });

  it('token precedence: --token, plugin option, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH, $HF_HOME/token', async () => {
    h = await startHarness([tinyRepo()]);
    const sent = async (ctx: ReturnType<Harness['context']>, hh: Harness = h!) => {
      hh.hub.requests.length = 0;
      await resolve(hh, 'tiny-org/qwen2-tiny', ctx);
      return hh.hub.requests[0].authorization?.replace('Bearer ', '');
    };
    const tokenFile = path.join(h.root, 'secrets', 'token-file');
    await mkdir(path.dirname(tokenFile), { recursive: true });
    await writeFile(tokenFile, 'hf_from_token_path_0001\n');
    await mkdir(h.env.HF_HOME!, { recursive: true });
    await writeFile(path.join(h.env.HF_HOME!, 'token'), '  hf_from_hf_home_00001 \n');
    const all = { ...h.env, HF_TOKEN: 'hf_from_hf_token_00001', HUGGING_FACE_HUB_TOKEN: 'hf_from_legacy_var_0001', HF_TOKEN_PATH: tokenFile };
    expect(await sent(h.context({ env: all, options: { token: 'hf_from_flag_000000001' } }))).toBe('hf_from_flag_000000001');
    expect(await sent(h.context({ env: all }))).toBe('hf_from_hf_token_00001');
    expect(await sent(h.context({ env: { ...all, HF_TOKEN: '' } }))).toBe('hf_from_legacy_var_0001');
    expect(await sent(h.context({ env: { ...all, HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined } }))).toBe('hf_from_token_path_0001');
    expect(await sent(h.context({ env: { ...h.env } }))).toBe('hf_from_hf_home_00001');
    await writeFile(path.join(h.env.HF_HOME!, 'token'), '\n  \n');
    expect(await sent(h.context({ env: { ...h.env } }))).toBeUndefined();
    const withOption = await startHarness([tinyRepo()], { token: 'hf_from_plugin_option_1' });
    try {
      const env = { ...all, HF_ENDPOINT: withOption.hub.url };
      expect(await sent(withOption.context({ env }), withOption)).toBe('hf_from_plugin_option_1');
      expect(await sent(withOption.context({ env, options: { token: 'hf_from_flag_000000001' } }), withOption)).toBe('hf_from_flag_000000001');
    } finally {
      await withOption.close();
    }
  });

  it('retries a 5xx while reading config.json and succeeds', async () => {
    h = await startHarness([tinyRepo()]);
    // Faults only hit file content, so break config.json twice instead.
    h.hub.inject({ kind: 'status', status: 503, path: 'config.json', times: 2 });
    const plan = await resolve(h, 'tiny-org/qwen2-tiny');
    expect(plan?.config).toEqual(QWEN2_CONFIG);
    expect(h.hub.requests.filter((r) => r.status === 503)).toHaveLength(2);
  });

  it('NETWORK, quickly, when the hub keeps failing past the retry budget', async () => {
    h = await startHarness([tinyRepo()], { retryBudgetMs: 300 });
    h.hub.inject({ kind: 'status', status: 500, path: 'config.json' });
    const started = Date.now();
    const error = await rejection(resolve(h, 'tiny-org/qwen2-tiny'));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.code).toBe('NETWORK');
    expect(error.message).toContain('500');
  });
});
