/**
 * The plugin against the fake hub's shared repos (the ones the demo and the end-to-end tests use).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import {
  DENIED_TOKEN,
  GATED_QWEN2,
  GRANTED_TOKEN,
  HOSTILE_PATHS,
  HUGE_DECLARED,
  HUGE_DECLARED_SIZE,
  LICENSE_OTHER,
  NEVER_DOWNLOAD,
  PRIVATE_QWEN2,
  QWEN2_BIN,
  QWEN2_SHARDED,
  QWEN2_TINY,
  QWEN2_WITH_EXTRAS,
  QWEN3_TINY,
  UNSUPPORTED_ARCH,
  standardRepos,
} from '../../../test/fake-hub/standard-repos.js';
import { expectTokenNowhere, resolveAndAuthorize, sha256, startHarness, weightRequests, type Harness } from '../test-support/harness.js';

let h: Harness;
const repos = standardRepos();
const filesOf = (id: string) => repos.find((r) => r.id === id)!.files;

beforeAll(async () => {
  h = await startHarness(repos, { stallTimeoutMs: 2_000 }, { validTokens: [GRANTED_TOKEN, DENIED_TOKEN] });
});
afterAll(async () => {
  await expectTokenNowhere(h, GRANTED_TOKEN);
  await expectTokenNowhere(h, DENIED_TOKEN);
  await h.close();
});

async function importRaw(id: string, env: Record<string, string | undefined> = h.env) {
  const ctx = h.context({ env });
  const plan = await resolveAndAuthorize(h, id, ctx);
  const rawDir = path.join(h.root, 'raw', id);
  const result = (await h.hooks.fetch.promise(plan, { ...ctx, rawDir, partialDir: h.partialDir }))!;
  for (const f of result.files) {
    const got = await readFile(path.join(rawDir, f.path));
    expect(sha256(got), `${id} ${f.path}`).toBe(sha256(filesOf(id)[f.path]));
    expect(f.sha256).toBe(sha256(got));
  }
  return { plan, result };
}

describe('standard repos', () => {
  it.each([QWEN2_TINY, QWEN3_TINY, QWEN2_WITH_EXTRAS, UNSUPPORTED_ARCH])('%s imports bit-exact', async (id) => {
    const { plan } = await importRaw(id);
    expect(plan.files.some((f) => f.path === 'config.json')).toBe(true);
    expect(plan.files.filter((f) => f.role === 'weights').map((f) => f.path)).toEqual(['model.safetensors']);
  });

  it('never downloads the extras of qwen2-with-extras', async () => {
    const fetched = h.hub.requests.filter((r) => r.path.startsWith(`/${QWEN2_WITH_EXTRAS}/resolve/`)).map((r) => r.path.split('/').slice(5).join('/'));
    for (const p of NEVER_DOWNLOAD) expect(fetched).not.toContain(p);
  });

  it('the sharded repo brings its index and every shard', async () => {
    const { plan } = await importRaw(QWEN2_SHARDED);
    const index = JSON.parse(new TextDecoder().decode(filesOf(QWEN2_SHARDED)['model.safetensors.index.json']));
    const shards = [...new Set(Object.values(index.weight_map as Record<string, string>))].sort();
    expect(plan.files.filter((f) => f.role === 'weights').map((f) => f.path).sort()).toEqual(shards);
    expect(plan.files.find((f) => f.role === 'weights-index')?.path).toBe('model.safetensors.index.json');
  });

  it('the .bin repo brings pytorch_model.bin', async () => {
    const { plan } = await importRaw(QWEN2_BIN);
    expect(plan.files.filter((f) => f.role.startsWith('weights')).map((f) => f.path)).toEqual(['pytorch_model.bin']);
  });

  it('gated and private repos with the granted token; denied and missing tokens fail before any weight byte', async () => {
    const before = weightRequests(h.hub).length;
    const denied = await resolveAndAuthorize(h, GATED_QWEN2, h.context({ env: { ...h.env, HF_TOKEN: DENIED_TOKEN } })).catch((e) => e);
    expect(isModelImportError(denied) && denied.code).toBe('ACCESS_DENIED');
    const missing = await resolveAndAuthorize(h, GATED_QWEN2).catch((e) => e);
    expect(isModelImportError(missing) && missing.code).toBe('TOKEN_REQUIRED');
    expect(weightRequests(h.hub).length).toBe(before);
    await importRaw(GATED_QWEN2, { ...h.env, HF_TOKEN: GRANTED_TOKEN });
    await importRaw(PRIVATE_QWEN2, { ...h.env, HF_TOKEN: GRANTED_TOKEN });
  });

  it('license other: id, name, link and the LICENSE excerpt', async () => {
    const plan = await resolveAndAuthorize(h, LICENSE_OTHER);
    expect(plan.license).toMatchObject({ id: 'other', name: 'tiny-license', file: 'LICENSE' });
    expect(plan.license!.link).toBe(`${h.hub.url}/${LICENSE_OTHER}/blob/${plan.commit}/LICENSE`);
    expect(plan.license!.excerpt).toMatch(/^TINY TEST MODEL LICENSE AGREEMENT/);
  });

  it('hostile paths refuse the plan', async () => {
    const error = await resolveAndAuthorize(h, HOSTILE_PATHS).catch((e) => e);
    expect(isModelImportError(error) && error.code).toBe('UNSAFE_PATH');
  });

  it('huge-declared: the plan carries the declared size; a fetch (if the kernel let one happen) stops at the lie', async () => {
    const plan = await resolveAndAuthorize(h, HUGE_DECLARED);
    expect(plan.files.find((f) => f.path === 'model.safetensors')!.size).toBe(HUGE_DECLARED_SIZE);
    const error = await h.hooks.fetch.promise(plan, { ...h.context(), rawDir: path.join(h.root, 'raw-huge'), partialDir: h.partialDir }).catch((e) => e);
    expect(isModelImportError(error) && error.code).toBe('HASH_MISMATCH');
    expect(error.message).toMatch(/serves model\.safetensors with \d+ bytes, but its listing says 10000000000000000/);
  });
});
