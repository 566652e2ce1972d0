/**
 * The shared repos, served and read back with @huggingface/hub: what each one is for actually holds.
 */
import { downloadFile, HubApiError, listFiles, modelInfo, parseSafetensorsMetadata } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from './git-hash.js';
import { startFakeHub } from './server.js';
import * as std from './standard-repos.js';
import type { FakeHub, FakeRepo } from './types.js';

let hub: FakeHub;
let repos: FakeRepo[];

beforeAll(async () => {
  repos = std.standardRepos();
  hub = await startFakeHub({ repos });
});
afterAll(() => hub.close());

const repo = (id: string) => repos.find((r) => r.id === id)!;
const info = (name: string, accessToken?: string) =>
  modelInfo({ name, hubUrl: hub.url, accessToken, additionalFields: ['config', 'cardData', 'tags', 'safetensors', 'filePaths', 'sha'] });
async function list(id: string): Promise<{ path: string; size: number; type: string }[]> {
  const out = [];
  for await (const e of listFiles({ repo: id, hubUrl: hub.url, recursive: true })) out.push(e);
  return out;
}

describe('standard repos', () => {
  it('exports every id as a constant, all distinct, and is deterministic per seed', () => {
    const ids = repos.map((r) => r.id);
    expect(new Set(ids).size).toBe(14);
    for (const id of ids) expect(Object.values(std)).toContain(id);
    const again = std.standardRepos();
    const other = std.standardRepos(2);
    const sha = (r: FakeRepo) => sha256Hex(r.files['model.safetensors'] ?? r.files['pytorch_model.bin'] ?? new Uint8Array());
    expect(again.map(sha)).toEqual(repos.map(sha));
    expect(other.map(sha)).not.toEqual(repos.map(sha));
    expect(new Set(repos.map(sha)).size).toBe(14); // no two repos share weights
  });

  it.each([
    [std.QWEN2_TINY, 'Qwen2ForCausalLM', 'qwen2'],
    [std.QWEN2_SHARDED, 'Qwen2ForCausalLM', 'qwen2'],
    [std.QWEN3_TINY, 'Qwen3ForCausalLM', 'qwen3'],
    [std.QWEN2_MOE_TINY, 'Qwen2MoeForCausalLM', 'qwen2_moe'],
    [std.QWEN3_MOE_TINY, 'Qwen3MoeForCausalLM', 'qwen3_moe'],
    [std.LLAMA_TINY, 'LlamaForCausalLM', 'llama'],
    [std.UNSUPPORTED_ARCH, 'MambaForCausalLM', 'mamba'],
  ])('%s: config summary %s / %s, apache-2.0 from the README, parameter count as the client computes it', async (id, arch, type) => {
    const i = await info(id);
    expect(i.config).toMatchObject({ architectures: [arch], model_type: type });
    expect(i.cardData).toMatchObject({ license: 'apache-2.0', language: ['en'] });
    expect(i.tags).toContain('license:apache-2.0');
    const meta = await parseSafetensorsMetadata({ repo: id, hubUrl: hub.url, computeParametersCount: true });
    expect(i.safetensors?.parameters).toEqual(meta.parameterCount);
  });

  it('qwen2-sharded has 3 shards and an index', async () => {
    const paths = (await info(std.QWEN2_SHARDED)).filePaths;
    expect(paths.filter((p) => /^model-0000\d-of-00003\.safetensors$/.test(p))).toHaveLength(3);
    expect(paths).toContain('model.safetensors.index.json');
    const meta = await parseSafetensorsMetadata({ repo: std.QWEN2_SHARDED, hubUrl: hub.url });
    expect(meta.sharded).toBe(true);
  });

  it('gated-qwen2: public metadata, content 401 / 403 / 200 by token', async () => {
    expect((await info(std.GATED_QWEN2)).gated).toBe('manual');
    const status = async (accessToken?: string) =>
      downloadFile({ repo: std.GATED_QWEN2, path: 'config.json', hubUrl: hub.url, accessToken }).then(
        () => 200,
        (e: HubApiError) => e.statusCode,
      );
    expect(await status()).toBe(401);
    expect(await status(std.DENIED_TOKEN)).toBe(403);
    expect(await status(std.GRANTED_TOKEN)).toBe(200);
  });

  it('private-qwen2: 401 anonymous, 404 with the denied token, readable with the granted one', async () => {
    expect(((await info(std.PRIVATE_QWEN2).catch((e) => e)) as HubApiError).statusCode).toBe(401);
    expect(((await info(std.PRIVATE_QWEN2, std.DENIED_TOKEN).catch((e) => e)) as HubApiError).statusCode).toBe(404);
    expect((await info(std.PRIVATE_QWEN2, std.GRANTED_TOKEN)).private).toBe(true);
  });

  it('license-other: cardData other + tiny-license + LICENSE link, and the LICENSE file', async () => {
    const i = await info(std.LICENSE_OTHER);
    expect(i.cardData).toEqual({ license: 'other', license_name: 'tiny-license', license_link: 'LICENSE' });
    expect(i.tags).toContain('license:other');
    const blob = await downloadFile({ repo: std.LICENSE_OTHER, path: 'LICENSE', hubUrl: hub.url });
    expect(await blob!.text()).toContain('LICENSE');
  });

  it('huge-declared lists its weights as 10 PB but serves the real bytes', async () => {
    const weights = (await list(std.HUGE_DECLARED)).find((e) => e.path === 'model.safetensors')!;
    expect(weights.size).toBe(std.HUGE_DECLARED_SIZE);
    const blob = await downloadFile({ repo: std.HUGE_DECLARED, path: 'model.safetensors', hubUrl: hub.url });
    expect(blob!.size).toBe(repo(std.HUGE_DECLARED).files['model.safetensors'].byteLength);
  });

  it('qwen2-bin ships pytorch_model.bin and no safetensors', async () => {
    const i = await info(std.QWEN2_BIN);
    expect(i.filePaths).toContain('pytorch_model.bin');
    expect(i.filePaths.some((p) => p.endsWith('.safetensors'))).toBe(false);
    expect(i.safetensors).toBeUndefined();
  });

  it('hostile-paths lists the traversal entries; extras repo holds files never to download', async () => {
    const paths = (await list(std.HOSTILE_PATHS)).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(std.HOSTILE_TREE_PATHS));
    const extras = (await info(std.QWEN2_WITH_EXTRAS)).filePaths;
    expect(extras).toEqual(expect.arrayContaining([...std.NEVER_DOWNLOAD, 'model.safetensors']));
  });
});
