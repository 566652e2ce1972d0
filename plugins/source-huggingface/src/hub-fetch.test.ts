import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelImportError } from '../../../src/index.js';
import { createHubFetch, fetchSmall } from './hub-fetch.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener, host = '127.0.0.1'): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

const retry = { budgetMs: 500, baseDelayMs: 10, maxDelayMs: 50 };

describe('createHubFetch', () => {
  it('adds the token for the hub origin only, across redirects and pagination links', async () => {
    const seen: [string, string | undefined][] = [];
    const other = await serve((req, res) => {
      seen.push([`other${req.url}`, req.headers.authorization]);
      res.end('[]');
    });
    const otherPort = new URL(other).port;
    const hub = await serve((req, res) => {
      seen.push([`hub${req.url}`, req.headers.authorization]);
      if (req.url === '/old') return res.writeHead(307, { location: '/new' }).end();
      if (req.url === '/new') return res.writeHead(302, { location: `http://localhost:${otherPort}/cdn` }).end();
      res.end('{}');
    });
    const hubFetch = createHubFetch({ endpoint: hub, token: 'hf_secret_token_9', signal: new AbortController().signal, retry, onFailure: () => new Error('x') });
    expect(await (await hubFetch(`${hub}/old`, { headers: { Authorization: 'Bearer hf_library_token' } })).text()).toBe('[]');
    await hubFetch(`http://localhost:${otherPort}/page2`);
    expect(seen).toEqual([
      ['hub/old', 'Bearer hf_secret_token_9'],
      ['hub/new', 'Bearer hf_secret_token_9'],
      ['other/cdn', undefined],
      ['other/page2', undefined],
    ]);
  });

  it('retries 5xx within the budget, then throws the mapped error; 4xx maps at once with X-Error-Code', async () => {
    let calls = 0;
    const hub = await serve((req, res) => {
      calls++;
      if (req.url === '/gated') return res.writeHead(403, { 'x-error-code': 'GatedRepo', 'x-error-message': 'nope' }).end();
      if (req.url === '/flaky' && calls < 3) return res.writeHead(502).end();
      if (req.url === '/down') return res.writeHead(503).end();
      res.end('ok');
    });
    const failures: unknown[] = [];
    const hubFetch = createHubFetch({
      endpoint: hub,
      signal: new AbortController().signal,
      retry,
      onFailure: (f) => {
        failures.push(f);
        return new ModelImportError('NETWORK', `mapped ${f.status} ${f.code ?? ''}`.trim());
      },
    });
    expect(await (await hubFetch(`${hub}/flaky`)).text()).toBe('ok');
    calls = 0;
    await expect(hubFetch(`${hub}/gated`)).rejects.toThrow('mapped 403 GatedRepo');
    expect(calls).toBe(1);
    const started = Date.now();
    await expect(hubFetch(`${hub}/down`)).rejects.toThrow('mapped 503');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failures).toContainEqual({ status: 403, code: 'GatedRepo', message: 'nope' });
  });

  it('fetchSmall caps the size, or truncates when asked', async () => {
    const hub = await serve((_req, res) => res.end('x'.repeat(1000)));
    const hubFetch = createHubFetch({ endpoint: hub, signal: new AbortController().signal, retry, onFailure: () => new Error('x') });
    const opts = { what: 'config.json', retry, signal: new AbortController().signal };
    await expect(fetchSmall(hubFetch, `${hub}/c`, { ...opts, max: 100 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect((await fetchSmall(hubFetch, `${hub}/c`, { ...opts, max: 100, truncate: true })).byteLength).toBe(100);
  });
});
