/**
 * https:// targets through an HTTP proxy: CONNECT, then TLS to the target over the tunnel, for both kinds of
 * requests (RangeGet for file content, the hub fetch for API calls). The TLS target needs openssl for a
 * certificate; without it only the CONNECT side is checked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isModelImportError, type ModelImportError } from '../../../src/index.js';
import { startForwardProxy, type ForwardProxy } from '../test-support/forward-proxy.js';
import { createHubFetch } from './hub-fetch.js';
import { ProxyEnv } from './proxy-env.js';
import { RangeGet, READ_BUFFER_BYTES, type RangeGetOptions } from './range-get.js';

const content = Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 131 + (i >> 9)) & 0xff));
const TOKEN = 'hf_tunnel_token_0123456789';
const PASSWORD = 'tunn3l-pw';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function proxyWith(options: Parameters<typeof startForwardProxy>[0] = {}): Promise<ForwardProxy> {
  const proxy = await startForwardProxy(options);
  closers.push(() => proxy.close());
  return proxy;
}

const proxyEnv = (proxy: ForwardProxy, password = PASSWORD, extra: Record<string, string> = {}) =>
  new ProxyEnv({ HTTPS_PROXY: `http://bob:${password}@127.0.0.1:${proxy.port}`, ...extra });

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return (server.address() as AddressInfo).port;
}

/** A self-signed certificate for localhost, or undefined without openssl. */
function certificate(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'k.pem')), cert: readFileSync(path.join(dir, 'c.pem')) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Serves `content` by range (and "ok" at /api), recording each request's headers. */
function contentHandler(seen: http.IncomingHttpHeaders[]): http.RequestListener {
  return (req, res) => {
    seen.push(req.headers);
    if (req.url === '/api') return void res.end('ok');
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? 'bytes=0-0')!.map(Number);
    res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${content.length}`, 'content-length': b - a + 1 });
    res.end(content.subarray(a, b + 1));
  };
}

function rangeOptions(url: string, o: Partial<RangeGetOptions> = {}): RangeGetOptions {
  return {
    url,
    start: 0,
    end: content.length,
    size: content.length,
    token: TOKEN,
    authOrigin: new URL(url).origin,
    signal: new AbortController().signal,
    stallMs: 2_000,
    userAgent: 'test',
    readBuffer: Buffer.alloc(READ_BUFFER_BYTES),
    ...o,
  };
}

async function get(o: RangeGetOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  await new RangeGet(o).run((view) => {
    parts.push(Buffer.from(view));
    return true;
  });
  return Buffer.concat(parts);
}

const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
const retry = { budgetMs: 300, baseDelayMs: 10, maxDelayMs: 50 };
const hubFetchVia = (endpoint: string, proxies: ProxyEnv, ca?: Buffer) =>
  createHubFetch({ endpoint, token: TOKEN, signal: new AbortController().signal, retry, proxies, stallMs: 2_000, onFailure: (f) => new Error(`status ${f.status}`), ...(ca ? { tls: { ca } } : {}) });

function expectSecretsAbsent(error: unknown) {
  const text = [(error as Error).message, (error as ModelImportError).hint ?? '', JSON.stringify((error as ModelImportError).details ?? {})].join('\n');
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain('bob:');
}

describe('https:// through an HTTP proxy (CONNECT)', () => {
  it('tunnels to a TLS server: bit-exact ranges and API calls; proxy credentials only in CONNECT, the token only inside the tunnel', async (ctx) => {
    const tlsFiles = certificate();
    if (!tlsFiles) return ctx.skip(); // no openssl on this machine
    const seen: http.IncomingHttpHeaders[] = [];
    const port = await listen(https.createServer(tlsFiles, contentHandler(seen)));
    const proxy = await proxyWith({ credentials: `bob:${PASSWORD}` });
    const proxies = proxyEnv(proxy);
    const origin = `https://localhost:${port}`;

    // File content: two ranges, read through the tunnel ('data' events, not onread).
    const first = await get(rangeOptions(`${origin}/f`, { proxies, tls: { ca: tlsFiles.cert }, start: 0, end: 400_000 }));
    const second = await get(rangeOptions(`${origin}/f`, { proxies, tls: { ca: tlsFiles.cert }, start: 400_000 }));
    expect(Buffer.concat([first, second]).equals(content)).toBe(true);
    // API calls: the hub fetch through the same kind of tunnel.
    expect(await (await hubFetchVia(origin, proxies, tlsFiles.cert)(`${origin}/api`)).text()).toBe('ok');

    expect(proxy.log.map((e) => `${e.method} ${e.target}`)).toEqual(Array(3).fill(`CONNECT localhost:${port}`));
    for (const e of proxy.log) {
      expect(e.proxyAuthorization).toBe(`Basic ${Buffer.from(`bob:${PASSWORD}`).toString('base64')}`);
      expect(e.rawHead).not.toContain(TOKEN);
      expect(e.authorization).toBeUndefined();
    }
    expect(seen.map((headers) => headers.authorization)).toEqual(Array(3).fill(`Bearer ${TOKEN}`));
    expect(seen.some((headers) => headers['proxy-authorization'] !== undefined)).toBe(false);
  });

  it('CONNECT is used for https:// URLs (TLS to a plain server then fails as a certificate/TLS error)', async () => {
    const port = await listen(http.createServer(contentHandler([])));
    const proxy = await proxyWith();
    const proxies = proxyEnv(proxy);
    const url = `https://127.0.0.1:${port}/f`;
    const rangeError = await failureOf(get(rangeOptions(url, { proxies })));
    expect(isModelImportError(rangeError) && rangeError.code).toBe('NETWORK');
    expect((rangeError as Error).message).toContain(`https://127.0.0.1:${port}`);
    const apiError = await failureOf(hubFetchVia(`https://127.0.0.1:${port}`, proxies)(`https://127.0.0.1:${port}/api`));
    expect(isModelImportError(apiError) && apiError.code).toBe('NETWORK');
    expect(proxy.log.map((e) => `${e.method} ${e.target}`)).toEqual(Array(2).fill(`CONNECT 127.0.0.1:${port}`));
    expect(proxy.log.every((e) => !e.rawHead.includes(TOKEN))).toBe(true);
  });

  it('a refused CONNECT (403) is a clear NETWORK error naming the proxy and the target, not retried', async () => {
    const proxy = await proxyWith({ connectStatus: 403 });
    const proxies = proxyEnv(proxy);
    for (const attempt of [
      () => get(rangeOptions('https://huggingface.co/org/m/resolve/abc/model.safetensors', { proxies })),
      () => hubFetchVia('https://huggingface.co', proxies)('https://huggingface.co/api/models/org/m'),
    ]) {
      const error = await failureOf(attempt());
      expect(isModelImportError(error) && error.code).toBe('NETWORK');
      expect((error as Error).message).toBe(`The proxy 127.0.0.1:${proxy.port} (from HTTPS_PROXY) refused to connect to huggingface.co:443 (403).`);
      expect((error as ModelImportError).hint).toContain('NO_PROXY');
      expectSecretsAbsent(error);
    }
    expect(proxy.log.length).toBe(2);
  });

  it('a proxy that cannot reach the target (502 to CONNECT) is retried, then named in the final error', async () => {
    const proxy = await proxyWith({ connectStatus: 502 });
    const error = await failureOf(hubFetchVia('https://huggingface.co', proxyEnv(proxy))('https://huggingface.co/api/models/org/m'));
    expect(isModelImportError(error) && error.code).toBe('NETWORK');
    expect((error as Error).message).toContain(`the proxy answered 502 to CONNECT huggingface.co:443 (proxy 127.0.0.1:${proxy.port} from HTTPS_PROXY)`);
    expect((error as ModelImportError).hint).toMatch(/HTTPS_PROXY.*NO_PROXY/);
    expect(proxy.log.length).toBeGreaterThan(1);
    expectSecretsAbsent(error);
  });

  it('407 to CONNECT: rejected credentials, never shown', async () => {
    const proxy = await proxyWith({ credentials: 'bob:the-right-one' });
    const error = await failureOf(get(rangeOptions('https://huggingface.co/x', { proxies: proxyEnv(proxy) })));
    expect(isModelImportError(error) && error.code).toBe('NETWORK');
    expect((error as Error).message).toBe(`The proxy 127.0.0.1:${proxy.port} (from HTTPS_PROXY) rejected the credentials in its URL (407).`);
    expectSecretsAbsent(error);
  });

  it('NO_PROXY bypasses the proxy for https:// too', async () => {
    const port = await listen(http.createServer(contentHandler([])));
    const proxy = await proxyWith();
    // An http:// target on 127.0.0.1 with HTTPS_PROXY set: HTTPS_PROXY is not for http://, so direct.
    expect((await get(rangeOptions(`http://127.0.0.1:${port}/f`, { proxies: proxyEnv(proxy) }))).equals(content)).toBe(true);
    // An https:// target listed in NO_PROXY: direct (and it fails as TLS to a plain server, not via the proxy).
    await failureOf(get(rangeOptions(`https://127.0.0.1:${port}/f`, { proxies: proxyEnv(proxy, PASSWORD, { NO_PROXY: `127.0.0.1:${port}` }) })));
    expect(proxy.log).toEqual([]);
  });
});
