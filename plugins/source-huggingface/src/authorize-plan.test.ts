import { afterEach, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { GRANTED, ScriptedPrompter, startHarness, tinyRepo, toImportPlan, weightRequests, type Harness } from '../test-support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const gated = () => tinyRepo('tiny-org/gated-qwen2', { gated: 'manual', grantedTokens: [GRANTED] });

describe('authorize', () => {
  it('probes access with a one-byte read of config.json before any download', async () => {
    h = await startHarness([tinyRepo()]);
    const ctx = h.context();
    const plan = toImportPlan((await h.hooks.resolve.promise({ spec: 'tiny-org/qwen2-tiny', options: ctx.options }, ctx))!);
    h.hub.requests.length = 0;
    await h.hooks.authorize.promise(plan, ctx);
    expect(h.hub.requests.map((r) => [r.path.split('/').pop(), r.range, r.status])).toEqual([['config.json', 'bytes=0-0', 206]]);
    expect(weightRequests(h.hub)).toEqual([]);
  });

  it('ignores plans it did not resolve', async () => {
    h = await startHarness([tinyRepo()]);
    const ctx = h.context();
    const plan = toImportPlan((await h.hooks.resolve.promise({ spec: 'tiny-org/qwen2-tiny', options: ctx.options }, ctx))!);
    h.hub.requests.length = 0;
    await h.hooks.authorize.promise({ ...plan, resolvedBy: 'other' }, ctx);
    expect(h.hub.requests).toEqual([]);
  });

  it('access revoked between resolve and authorize: ACCESS_DENIED, not retried', async () => {
    const repo = gated();
    h = await startHarness([repo]);
    const ctx = h.context({ env: { ...h.env, HF_TOKEN: GRANTED } });
    const plan = toImportPlan((await h.hooks.resolve.promise({ spec: repo.id, options: ctx.options }, ctx))!);
    h.hub.addRepo({ ...repo, grantedTokens: ['hf_someone_else_0001'] });
    h.hub.requests.length = 0;
    const error = await h.hooks.authorize.promise(plan, ctx).catch((e) => e);
    expect(isModelImportError(error) && error.code).toBe('ACCESS_DENIED');
    expect(h.hub.requests).toHaveLength(1);
  });

  it('a plan copied without its in-memory token: env token again, else a prompt, else TOKEN_REQUIRED', async () => {
    h = await startHarness([gated()]);
    const withEnv = h.context({ env: { ...h.env, HF_TOKEN: GRANTED } });
    const source = (await h.hooks.resolve.promise({ spec: 'tiny-org/gated-qwen2', options: withEnv.options }, withEnv))!;
    const copy = () => toImportPlan(structuredClone(source)); // loses the WeakMap entry
    await h.hooks.authorize.promise(copy(), withEnv);
    const prompter = new ScriptedPrompter([GRANTED]);
    await h.hooks.authorize.promise(copy(), h.context({ prompter }));
    expect(prompter.asked).toHaveLength(1);
    const error = await h.hooks.authorize.promise(copy(), h.context()).catch((e) => e);
    expect(isModelImportError(error) && error.code).toBe('TOKEN_REQUIRED');
  });

  it('fills the license excerpt when resolve could not', async () => {
    h = await startHarness([tinyRepo()]);
    const ctx = h.context();
    h.hub.inject({ kind: 'status', status: 404, path: '/LICENSE' , times: 1 });
    const plan = toImportPlan((await h.hooks.resolve.promise({ spec: 'tiny-org/qwen2-tiny', options: ctx.options }, ctx))!);
    expect(plan.license?.excerpt).toBeUndefined();
    expect(h.events.some((e) => e.type === 'message' && e.level === 'warn' && e.text.includes('LICENSE'))).toBe(true);
    await h.hooks.authorize.promise(plan, ctx);
    expect(plan.license?.excerpt).toMatch(/^License line 1\n/);
  });
});
