/**
 * The whole plugin behind a real forward proxy (test-support/forward-proxy.ts) in front of the fake hub: hub API
 * calls (@huggingface/hub through our fetch) and file downloads (RangeGet) both honour HTTP_PROXY and NO_PROXY.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isModelImportError, type ModelImportError } from '../../../src/index.js';
import { decodePath } from '../../../test/fake-hub/request-log.js';
import { deadPort, startForwardProxy, type ForwardProxy } from '../test-support/forward-proxy.js';
import { GRANTED, resolveAndAuthorize, sha256, startHarness, tinyRepo, tinyRepoFiles, type Harness } from '../test-support/harness.js';
import type { SourceHuggingfaceOptions } from './options.js';

let h: Harness | undefined;
let proxy: ForwardProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await h?.close();
  h = undefined;
});

const PASSWORD = 'pr0xy-pa@ss'; // '@' so it must be percent-encoded in the URL
const USER = 'alice';
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
const proxyUrl = (port: number, password = PASSWORD) => `http://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
const GATED = 'tiny-org/gated-qwen2';

async function setup(options: SourceHuggingfaceOptions = {}) {
  h = await startHarness([tinyRepo(GATED, { gated: 'auto', grantedTokens: [GRANTED] })], { connections: 3, chunkSize: 64 * 1024, stallTimeoutMs: 2_000, ...options });
  return h;
}

async function importError(p: Promise<unknown>): Promise<ModelImportError> {
  const e = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
  if (!isModelImportError(e)) throw e;
  return e;
}

/** Everything a user could be shown of an error: message, hint, details, and the messages of its causes. */
function shown(error: ModelImportError): string {
  const parts = [error.message, error.hint ?? '', JSON.stringify(error.details ?? {})];
  for (let c: unknown = error.cause; c instanceof Error; c = (c as { cause?: unknown }).cause) parts.push(c.message, c.stack ?? '');
  return parts.join('\n');
}

function expectNoProxySecret(error: ModelImportError, password: string) {
  const text = shown(error);
  expect(text).not.toContain(password);
  expect(text).not.toContain(encodeURIComponent(password));
  expect(text).not.toContain(basic(`${USER}:${password}`).slice(6));
  expect(text).not.toContain(`${USER}:`);
}

async function expectRawExact(hh: Harness, paths: string[]) {
  const files = tinyRepoFiles();
  for (const p of paths) expect(sha256(await readFile(path.join(hh.rawDir, p))), p).toBe(sha256(files[p]));
}

describe('source-huggingface behind an HTTP proxy', () => {
  it('a whole fetch through HTTP_PROXY is bit-exact, every request went through the proxy with its credentials, and the token never went to the proxy', async () => {
    const hh = await setup();
    proxy = await startForwardProxy({ credentials: `${USER}:${PASSWORD}` });
    const env = { ...hh.env, HTTP_PROXY: proxyUrl(proxy.port), HF_TOKEN: GRANTED };
    const plan = await resolveAndAuthorize(hh, GATED, hh.context({ env }));
    const result = (await hh.hooks.fetch.promise(plan, hh.fetchContext({ env })))!;
    await expectRawExact(hh, plan.files.map((f) => f.path));
    expect(result.files.length).toBeGreaterThan(3);

    // Every request the hub saw came through the proxy (same count, same paths), as an absolute URI.
    const hubSaw = hh.hub.requests.map((r) => `${r.method} ${r.path}`).sort();
    const proxySaw = proxy.log.map((e) => `${e.method} ${decodePath(new URL(e.target).pathname)}`).sort();
    expect(hubSaw.length).toBeGreaterThan(5);
    expect(proxySaw).toEqual(hubSaw);
    expect(proxy.log.every((e) => e.target.startsWith(`${hh.hub.url}/`))).toBe(true);
    expect(proxy.log.some((e) => e.target.includes('/api/models/'))).toBe(true); // the hub library's calls too
    expect(proxy.log.filter((e) => e.target.includes('/resolve/')).length).toBeGreaterThan(plan.files.length); // ranges

    // Proxy credentials on every request to the proxy; the token only as Authorization for the hub, never as
    // Proxy-Authorization, and nothing of the proxy's credentials reached the hub.
    expect(proxy.log.every((e) => e.proxyAuthorization === basic(`${USER}:${PASSWORD}`))).toBe(true);
    expect(proxy.log.some((e) => e.proxyAuthorization?.includes(GRANTED))).toBe(false);
    expect(proxy.log.filter((e) => e.method === 'CONNECT')).toEqual([]);
    expect(hh.hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === `Bearer ${GRANTED}`)).toBe(true);
  });

  it('NO_PROXY=127.0.0.1 bypasses the proxy for the hub', async () => {
    const hh = await setup();
    proxy = await startForwardProxy();
    const env = { ...hh.env, HTTP_PROXY: proxy.url, NO_PROXY: 'example.com, 127.0.0.1', HF_TOKEN: GRANTED };
    const plan = await resolveAndAuthorize(hh, GATED, hh.context({ env }));
    await hh.hooks.fetch.promise(plan, hh.fetchContext({ env }));
    await expectRawExact(hh, plan.files.map((f) => f.path));
    expect(hh.hub.requests.length).toBeGreaterThan(5);
    expect(proxy.log).toEqual([]);
  });

  it('wrong proxy credentials: a NETWORK error at once naming the proxy, never the credentials (hub API and downloads)', async () => {
    const hh = await setup();
    proxy = await startForwardProxy({ credentials: `${USER}:${PASSWORD}` });
    const wrong = 'wr0ng-s3cret';
    const env = { ...hh.env, HTTP_PROXY: proxyUrl(proxy.port, wrong), HF_TOKEN: GRANTED };
    const resolveError = await importError(resolveAndAuthorize(hh, GATED, hh.context({ env })));
    expect(resolveError.code).toBe('NETWORK');
    expect(resolveError.message).toBe(`The proxy 127.0.0.1:${proxy.port} (from HTTP_PROXY) rejected the credentials in its URL (407).`);
    expect(resolveError.hint).toContain('NO_PROXY');
    expectNoProxySecret(resolveError, wrong);
    expect(proxy.log.length).toBe(1); // a 407 is not retried
    expect(hh.hub.requests).toEqual([]);

    // Resolved directly, then downloads through the proxy with the wrong password.
    const plan = await resolveAndAuthorize(hh, GATED, hh.context({ env: { ...env, HTTP_PROXY: undefined } }));
    const fetchError = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext({ env })));
    expect(fetchError.code).toBe('NETWORK');
    expect(fetchError.message).toContain(`The proxy 127.0.0.1:${proxy.port} (from HTTP_PROXY)`);
    expectNoProxySecret(fetchError, wrong);
    expect(proxy.log.every((e) => e.proxyAuthorization === basic(`${USER}:${wrong}`))).toBe(true);
  });

  it('a dead proxy: a quick NETWORK error naming it (host:port only) with a hint about the proxy variables', async () => {
    const hh = await setup({ retryBudgetMs: 300, retryBaseDelayMs: 20, retryMaxDelayMs: 50 });
    const port = await deadPort();
    const secret = 'd3ad-s3cret';
    const env = { ...hh.env, HTTP_PROXY: proxyUrl(port, secret) };
    const started = Date.now();
    const resolveError = await importError(resolveAndAuthorize(hh, GATED, hh.context({ env: { ...env, HF_TOKEN: GRANTED } })));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(resolveError.code).toBe('NETWORK');
    expect(resolveError.message).toMatch(new RegExp(`the connection was refused \\(proxy 127\\.0\\.0\\.1:${port} from HTTP_PROXY\\) \\(gave up after \\d+ attempts\\)`));
    expect(resolveError.hint).toMatch(/HTTP_PROXY.*NO_PROXY/);
    expectNoProxySecret(resolveError, secret);
    expect(hh.hub.requests).toEqual([]);

    const plan = await resolveAndAuthorize(hh, GATED, hh.context({ env: { ...hh.env, HF_TOKEN: GRANTED } }));
    const fetchError = await importError(hh.hooks.fetch.promise(plan, hh.fetchContext({ env: { ...env, HF_TOKEN: GRANTED } })));
    expect(fetchError.code).toBe('NETWORK');
    expect(fetchError.message).toContain(`(proxy 127.0.0.1:${port} from HTTP_PROXY)`);
    expect(fetchError.hint).toMatch(/HTTP_PROXY.*NO_PROXY.*resume/);
    expectNoProxySecret(fetchError, secret);
  });

  it('an unusable proxy URL is CONFIG_INVALID before any request', async () => {
    const hh = await setup();
    const error = await importError(resolveAndAuthorize(hh, GATED, hh.context({ env: { ...hh.env, HTTP_PROXY: 'socks5://127.0.0.1:1080' } })));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(hh.hub.requests).toEqual([]);
  });
});
