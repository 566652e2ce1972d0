import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAbortError, isModelImportError, type ImportPlan, type ModelImportError } from '../../../src/index.js';
import { lazyPatternFile, type RepoFiles } from '../../../test/fake-hub/index.js';
import {
  DENIED,
  GRANTED,
  bytes,
  expectTokenNowhere,
  resolveAndAuthorize,
  sha256,
  startHarness,
  tinyRepo,
  tinyRepoFiles,
  weightRequests,
  type Harness,
} from '../test-support/harness.js';
import type { SourceHuggingfaceOptions } from './options.js';

let h: Harness | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  while (cleanups.length) await cleanups.pop()!();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}
async function importError(p: Promise<unknown>): Promise<ModelImportError> {
  const e = await rejection(p);
  if (!isModelImportError(e)) throw e;
  return e;
}

const BIG = 1_500_000;

function bigRepo(id = 'tiny-org/qwen2-big', extra = {}) {
  const files = { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) };
  return tinyRepo(id, { files, ...extra });
}

async function setup(repoOptions: SourceHuggingfaceOptions = {}, repos = [bigRepo()]) {
  h = await startHarness(repos, { chunkSize: 256 * 1024, connections: 4, stallTimeoutMs: 2_000, ...repoOptions });
  return h;
}

async function expectRawMatches(hh: Harness, plan: ImportPlan, files: Readonly<Record<string, Uint8Array>>) {
  for (const f of plan.files) {
    const got = await readFile(path.join(hh.rawDir, f.path));
    expect(sha256(got), f.path).toBe(sha256(files[f.path]));
  }
}

describe('fetch', () => {
  it('downloads exactly the planned files, bit-exact, in parallel ranges, and leaves no partial behind', async () => {
    const hh = await setup();
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    expect(hh.hub.weightBytesServed()).toBe(0);
    const result = (await hh.hooks.fetch.promise(plan, hh.fetchContext()))!;
    const files: RepoFiles = { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) };
    await expectRawMatches(hh, plan, files);
    expect(result.files.map((f) => f.path)).toEqual(plan.files.map((f) => f.path));
    for (const f of result.files) expect(f.sha256).toBe(sha256(files[f.path]));
    expect(result.bytesDownloaded).toBe(plan.files.reduce((n, f) => n + f.size, 0));
    expect(hh.hub.weightBytesServed()).toBe(BIG);
    // extras never requested
    const fetched = new Set(hh.hub.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').slice(5).join('/')));
    for (const extra of ['README.md', 'banner.png', 'onnx/model.onnx', 'model.gguf', 'original/consolidated.00.pth', 'flax_model.msgpack', '.gitattributes']) {
      expect(fetched.has(extra), extra).toBe(false);
    }
    // the large file came as 6 ranges of 256 KiB
    const ranges = hh.hub.requests.filter((r) => r.path.endsWith('model.safetensors')).map((r) => r.range);
    expect(ranges).toHaveLength(Math.ceil(BIG / (256 * 1024)));
    expect(ranges).toContain(`bytes=262144-524287`);
    expect(await readdir(hh.partialDir)).toEqual([]);
    // progress: one task per file in the download group, each ending done at its size
    const starts = hh.events.filter((e) => e.type === 'task-start');
    expect(starts.map((e) => e.type === 'task-start' && [e.label, e.total, e.group])).toContainEqual(['model.safetensors', BIG, 'download']);
    const ends = hh.events.filter((e) => e.type === 'task-end');
    expect(ends.every((e) => e.type === 'task-end' && e.status === 'done')).toBe(true);
    expect(ends).toHaveLength(plan.files.length);
  });

  it('fetches the small files before the large one, so none waits at 0% while the weights download', async () => {
    const hh = await setup();
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    // The weights first in plan order: before, their ranges took every connection until all were handed out.
    plan.files.sort((a, b) => b.size - a.size);
    const before = hh.hub.requests.length;
    await hh.hooks.fetch.promise(plan, hh.fetchContext());
    const order = hh.hub.requests.slice(before).filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').at(-1));
    // Workers start together, so a weights range may reach the hub before a small file's request on another
    // connection; what must not happen is a small file queued behind the weights' ranges (requested after the
    // last of them was handed out), as before.
    const lastWeights = order.lastIndexOf('model.safetensors');
    expect(order.filter((name) => name === 'model.safetensors').length).toBeGreaterThan(1);
    for (const f of plan.files.filter((f) => f.path !== 'model.safetensors')) expect(order.indexOf(f.path), f.path).toBeLessThan(lastWeights);
  });

  it('answers only its own plans', async () => {
    const hh = await setup();
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    expect(await hh.hooks.fetch.promise({ ...plan, resolvedBy: 'someone-else' }, hh.fetchContext())).toBeUndefined();
    expect(weightRequests(hh.hub)).toEqual([]);
  });

  it.each([
    ['drop-after', { kind: 'drop-after', bytes: 100_000, path: 'model.safetensors', times: 3 }],
    ['5xx', { kind: 'status', status: 503, path: 'model.safetensors', times: 3 }],
    ['reset', { kind: 'reset', path: 'model.safetensors', times: 3 }],
    ['429', { kind: 'status', status: 429, path: 'tokenizer.json', times: 2 }],
  ] as const)('recovers from %s faults bit-exact', async (_name, fault) => {
    const hh = await setup();
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    hh.hub.inject(fault);
    const result = (await hh.hooks.fetch.promise(plan, hh.fetchContext()))!;
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(hh.hub.requests.filter((r) => r.fault !== undefined)).toHaveLength(fault.times);
    const warnings = hh.events.filter((e) => e.type === 'message' && e.level === 'warn');
    expect(warnings).toHaveLength(1); // one line per file, however many retries
    expect(result.files).toHaveLength(plan.files.length);
    if (fault.kind === 'drop-after') {
      // each drop resumed its range from the bytes already written, not from the range start
      const resumed = hh.hub.requests.filter((r) => r.path.endsWith('model.safetensors') && r.range && /bytes=(\d+)-/.exec(r.range)![1] !== '0' && Number(/bytes=(\d+)-/.exec(r.range)![1]) % (256 * 1024) !== 0);
      expect(resumed.length).toBeGreaterThanOrEqual(3);
      expect(result.bytesDownloaded).toBe(plan.files.reduce((n, f) => n + f.size, 0));
    }
  });

  it('a stall aborts the request after stallTimeoutMs and the retry completes', async () => {
    const hh = await setup({ stallTimeoutMs: 200 });
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    hh.hub.inject({ kind: 'stall', afterBytes: 50_000, ms: 30_000, path: 'model.safetensors', times: 2 });
    const started = Date.now();
    await hh.hooks.fetch.promise(plan, hh.fetchContext());
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(hh.hub.requests.filter((r) => r.fault === 'stall')).toHaveLength(2);
  });

  it('NETWORK when the retry budget runs out: one line naming the file, a hint to rerun, the partial kept', async () => {
    const hh = await setup({ retryBudgetMs: 400 });
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    hh.hub.inject({ kind: 'drop-after', bytes: 10_000, path: 'model.safetensors', times: 1 });
    hh.hub.inject({ kind: 'status', status: 502, path: 'model.safetensors' });
    const started = Date.now();
    const error = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext()));
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(error.code).toBe('NETWORK');
    expect(error.message).toMatch(/^Downloading model\.safetensors failed: the hub answered 502; gave up after \d+ attempts/);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/^Run the same command again to resume: .* of model\.safetensors is kept in /);
    const partial = String(error.details!.partialFile);
    expect(error.hint).toContain(partial);
    expect(partial.startsWith(hh.partialDir)).toBe(true);
    expect(error.details!.bytesKept).toBeGreaterThanOrEqual(10_000);
    // other files cut short by the failure may be kept too; no temp files linger
    const left = await readdir(hh.partialDir);
    expect(left).toEqual(expect.arrayContaining([path.basename(partial), path.basename(partial).replace('.part', '.json')]));
    expect(left.every((f) => /^[0-9a-f]{40,64}\.(part|json)$/.test(f))).toBe(true);
    await expect(readFile(path.join(hh.rawDir, 'model.safetensors'))).rejects.toThrow();
  });

  it('Ctrl-C aborts promptly with a resumable partial; the next run downloads only the rest, bit-exact', async () => {
    const hh = await setup({ connections: 2 }, [bigRepo()]);
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    hh.hub.setThrottle(400_000);
    const controller = new AbortController();
    let done = 0;
    const unsubscribe = hh.reporter.subscribe((e) => {
      if (e.type === 'task-progress' && e.total === BIG) done = e.done;
      if (done > 300_000 && !controller.signal.aborted) controller.abort();
    });
    const error = await rejection(hh.hooks.fetch.promise(plan, hh.fetchContext({ signal: controller.signal })));
    unsubscribe();
    const abortedAt = Date.now();
    expect(isAbortError(error)).toBe(true);
    const partials = await readdir(hh.partialDir);
    expect(partials.some((p) => p.endsWith('.part'))).toBe(true);
    const sidecar = JSON.parse(await readFile(path.join(hh.partialDir, partials.find((p) => p.endsWith('.json') && p.startsWith(plan.files.at(-1)!.sha256!))!), 'utf8'));
    const kept = sidecar.done.reduce((n: number, [a, b]: number[]) => n + b - a, 0);
    expect(kept).toBeGreaterThan(300_000);
    expect(kept).toBeLessThan(BIG);
    expect(Date.now() - abortedAt).toBeLessThan(1000);

    hh.hub.setThrottle(undefined);
    const before = hh.hub.weightBytesServed();
    const result = (await hh.hooks.fetch.promise(plan, hh.fetchContext()))!;
    const servedAgain = hh.hub.weightBytesServed() - before;
    expect(servedAgain).toBeLessThanOrEqual(BIG - kept);
    expect(result.bytesDownloaded).toBeLessThan(plan.files.reduce((n, f) => n + f.size, 0));
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(hh.events.some((e) => e.type === 'task-end' && e.status === 'resumed')).toBe(true);
    expect(await readdir(hh.partialDir)).toEqual([]);
  });

  it('a corrupted partial is detected by the hash and the file is fetched again from scratch', async () => {
    const hh = await setup();
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big');
    const weights = plan.files.find((f) => f.path === 'model.safetensors')!;
    // a previous run that "finished" half the file, with wrong bytes
    await hh.hooks.fetch.promise({ ...plan, files: [] }, hh.fetchContext());
    await mkdir(hh.partialDir, { recursive: true });
    const junk = Buffer.alloc(BIG);
    junk.fill(7, 0, 700_000);
    await writeFile(path.join(hh.partialDir, `${weights.sha256}.part`), junk);
    await writeFile(path.join(hh.partialDir, `${weights.sha256}.json`), JSON.stringify({ version: 1, size: BIG, done: [[0, 700_000]] }));
    await hh.hooks.fetch.promise(plan, hh.fetchContext());
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(hh.hub.weightBytesServed()).toBe(BIG - 700_000 + BIG);
    expect(hh.events.some((e) => e.type === 'message' && e.level === 'warn' && e.text.includes('did not verify'))).toBe(true);
  });

  it('HASH_MISMATCH naming the file when the content does not match the hub oid', async () => {
    const liar = lazyPatternFile(600_000, 3, 'a'.repeat(64));
    const hh = await setup({}, [tinyRepo('tiny-org/liar', { lazyFiles: { 'model.safetensors': liar } })]);
    const plan = await resolveAndAuthorize(hh, 'tiny-org/liar');
    const error = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext()));
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toMatch(/^model\.safetensors does not match the hash the hub lists for it/);
    expect(error.details).toMatchObject({ path: 'model.safetensors', expected: 'a'.repeat(64) });
    expect(await readdir(hh.partialDir)).not.toContain(`${'a'.repeat(64)}.part`);
  });

  it('a git-blob hash mismatch on a small file is caught too', async () => {
    // The listing says 1000 bytes with one content; declaredSizes makes the hub lie about the size instead.
    const hh = await setup({}, [bigRepo('o/lying-size', { declaredSizes: { 'tokenizer_config.json': 5 } })]);
    const plan = await resolveAndAuthorize(hh, 'o/lying-size');
    const error = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext()));
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toContain('tokenizer_config.json');
  });

  it('gated: downloads with the granted token; the token goes nowhere else and is in no file', async () => {
    const hh = await setup({}, [bigRepo('tiny-org/gated-qwen2', { gated: 'auto', grantedTokens: [GRANTED] })]);
    const ctx = hh.context({ env: { ...hh.env, HF_TOKEN: GRANTED } });
    const plan = await resolveAndAuthorize(hh, 'tiny-org/gated-qwen2', ctx);
    // the kernel passes a context without the env token: the plan keeps its token in memory
    await hh.hooks.fetch.promise(plan, hh.fetchContext());
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(hh.hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === `Bearer ${GRANTED}`)).toBe(true);
    expect(JSON.stringify(plan)).not.toContain(GRANTED);
    await expectTokenNowhere(hh, GRANTED);
  });

  it('401/403 during the download are not retried', async () => {
    const repo = bigRepo('tiny-org/gated-qwen2', { gated: 'manual', grantedTokens: [GRANTED, DENIED] });
    const hh = await setup({}, [repo]);
    const plan = await resolveAndAuthorize(hh, 'tiny-org/gated-qwen2', hh.context({ options: { token: DENIED } }));
    hh.hub.addRepo({ ...repo, grantedTokens: [GRANTED] }); // access revoked between authorize and fetch
    const error = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext()));
    expect(error.code).toBe('ACCESS_DENIED');
    const denied = hh.hub.requests.filter((r) => r.status === 403);
    expect(denied.length).toBeGreaterThanOrEqual(1);
    expect(denied.length).toBeLessThanOrEqual(4); // at most one per connection, none retried
    expect(new Set(denied.map((r) => `${r.path} ${r.range}`)).size).toBe(denied.length);
    await expectTokenNowhere(hh, DENIED);
  });

  it('the same content under two names is downloaded once; an empty file needs no request', async () => {
    const files = { ...tinyRepoFiles(), 'LICENSE.txt': tinyRepoFiles().LICENSE, 'added_tokens.json': new Uint8Array(0) };
    const hh = await setup({}, [tinyRepo('o/dupes', { files })]);
    const plan = await resolveAndAuthorize(hh, 'o/dupes');
    expect(plan.files.map((f) => f.path)).toEqual(expect.arrayContaining(['LICENSE', 'LICENSE.txt', 'added_tokens.json']));
    hh.hub.requests.length = 0;
    await hh.hooks.fetch.promise(plan, hh.fetchContext());
    await expectRawMatches(hh, plan, files);
    const paths = hh.hub.requests.map((r) => r.path.split('/').slice(5).join('/'));
    expect(paths.filter((p) => p.startsWith('LICENSE'))).toHaveLength(1);
    expect(paths).not.toContain('added_tokens.json');
  });

  it('never sends the token to another origin when the hub redirects downloads to a CDN', async () => {
    const hh = await setup({}, [bigRepo()]);
    const cdnLog: (string | undefined)[] = [];
    const forward = (req: http.IncomingMessage, res: http.ServerResponse, headers: http.OutgoingHttpHeaders) => {
      const upstream = http.request(`${hh.hub.url}${req.url}`, { method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end();
    };
    const cdn = http.createServer((req, res) => {
      cdnLog.push(req.headers.authorization);
      forward(req, res, { range: req.headers.range ?? '' });
    });
    let cdnPort = 0;
    const front = http.createServer((req, res) => {
      if (req.url!.includes('/resolve/') && req.url!.endsWith('.safetensors')) {
        res.writeHead(302, { location: `http://localhost:${cdnPort}${req.url}` });
        return res.end();
      }
      forward(req, res, req.headers);
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    cdnPort = (cdn.address() as { port: number }).port;
    cleanups.push(async () => {
      cdn.closeAllConnections();
      front.closeAllConnections();
      await new Promise((r) => cdn.close(r));
      await new Promise((r) => front.close(r));
    });
    const endpoint = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
    const ctx = hh.context({ env: { ...hh.env, HF_ENDPOINT: endpoint, HF_TOKEN: GRANTED } });
    const plan = await resolveAndAuthorize(hh, 'tiny-org/qwen2-big', ctx);
    await hh.hooks.fetch.promise(plan, { ...hh.fetchContext(), env: ctx.env });
    await expectRawMatches(hh, plan, { ...tinyRepoFiles(), 'model.safetensors': bytes(BIG, 42) });
    expect(cdnLog.length).toBeGreaterThan(1);
    expect(cdnLog.every((a) => a === undefined)).toBe(true);
    expect(hh.hub.requests.filter((r) => r.path.endsWith('config.json')).every((r) => r.authorization === `Bearer ${GRANTED}`)).toBe(true);
  });
});
