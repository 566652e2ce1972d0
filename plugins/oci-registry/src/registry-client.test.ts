/**
 * The client against the real distribution registry (docker-registry, htpasswd auth): Basic after a 401,
 * chunked and single-request uploads, HEAD skipping, cross-repository mount, resumed uploads (downloads: blob-download.test.ts);
 * and the Bearer token flow against a small token service in front of the same registry.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { registryAvailable, startRegistry, type RealRegistry } from '../test-support/real-registry.js';
import { tempDir } from '../../../test/support/temp.js';
import { RegistryClient } from './registry-client.js';
import { blobExists, uploadBlob } from './blob-upload.js';
import { parseReference, registryBaseUrl } from './reference.js';
import { startFaultProxy } from '../test-support/fault-proxy.js';

const available = registryAvailable();
if (!available) console.warn('docker-registry or htpasswd missing: the registry client tests are skipped (.ci/run installs them)');

let registry: RealRegistry;
beforeAll(async () => {
  if (available) registry = await startRegistry();
});
afterAll(async () => registry?.close());

function client(repository: string, withCredentials = true): RegistryClient {
  const ref = parseReference(`${registry.host}/${repository}:t`);
  return new RegistryClient({
    ref,
    baseUrl: registryBaseUrl(ref.registry),
    credentials: withCredentials ? { username: registry.username, password: registry.password, origin: 'test' } : undefined,
    signal: new AbortController().signal,
    actions: 'pull,push',
    retry: { budgetMs: 2_000, baseDelayMs: 50, maxDelayMs: 200 },
  });
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe.skipIf(!available)('registry client against docker-registry', () => {
  it('uploads in chunks, then HEAD sees the blob and a second upload sends nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bytes = randomBytes(300_000);
      const file = path.join(dir, 'blob');
      await fs.writeFile(file, bytes);
      const c = client('test/chunked');
      const blob = { digest: digestOf(bytes), size: bytes.length, file };
      expect(await blobExists(c, blob.digest)).toBe(false);
      let sent = 0;
      expect(await uploadBlob(c, blob, { chunkSize: 64 * 1024, onProgress: (n) => (sent += n) })).toBe('uploaded');
      expect(sent).toBe(bytes.length);
      expect(await blobExists(c, blob.digest)).toBe(true);
      const before = c.counts.requests;
      expect(await uploadBlob(c, blob, { chunkSize: 64 * 1024 })).toBe('present');
      expect(c.counts.requests - before).toBe(1);
      // A second repository gets it by mount, not by upload.
      const other = client('test/other');
      expect(await uploadBlob(other, blob, { chunkSize: 64 * 1024, mountFrom: ['test/chunked'] })).toBe('mounted');
    } finally {
      await cleanup();
    }
  });

  it('by default streams a large blob in one PATCH; a connection dropped mid-body resumes from the registry\'s count', async () => {
    const proxy = await startFaultProxy(registry.url);
    const { dir, cleanup } = await tempDir();
    try {
      const bytes = randomBytes(6 * 2 ** 20 + 777);
      const file = path.join(dir, 'blob');
      await fs.writeFile(file, bytes);
      const c = client(`test/streamed`);
      const streamed = new RegistryClient({ ...c, ref: parseReference(`${proxy.host}/test/streamed:t`), baseUrl: registryBaseUrl(proxy.host), credentials: { username: registry.username, password: registry.password, origin: 'test' }, signal: new AbortController().signal, actions: 'pull,push', retry: { budgetMs: 2_000, baseDelayMs: 20, maxDelayMs: 100 } });
      proxy.rules.push({ method: 'PATCH', path: /\/blobs\/uploads\//, times: 1, fault: 'drop-request', afterBytes: 3 * 2 ** 20 });
      let sent = 0;
      const digest = digestOf(bytes);
      const outcome = await uploadBlob(streamed, { digest, size: bytes.length, file }, { stateDir: path.join(dir, 'state'), onProgress: (n) => (sent += n) }).catch((e) => e);
      expect(outcome).toBe('uploaded');
      expect(sent).toBe(bytes.length);
      const patches = proxy.log.filter((l) => l.method === 'PATCH' && l.status !== 401);
      // No Content-Range: the rest of the blob in each attempt, from what the registry said it kept.
      expect(patches.length).toBe(2);
      expect(patches.every((l) => l.contentRange === undefined)).toBe(true);
      const back = await fetch(`${registry.url}/v2/test/streamed/blobs/${digest}`, { headers: { authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}` } });
      expect(Buffer.compare(Buffer.from(await back.arrayBuffer()), bytes)).toBe(0);
      expect(await fs.readdir(path.join(dir, 'state'))).toEqual([]);
    } finally {
      await proxy.close();
      await cleanup();
    }
  });

  it('a streamed blob refused as too large (413, a proxy\'s body limit) goes again in 4 MiB chunks, and so do later blobs', async () => {
    const proxy = await startFaultProxy(registry.url);
    const { dir, cleanup } = await tempDir();
    try {
      const ref = parseReference(`${proxy.host}/test/too-large:t`);
      const c = new RegistryClient({ ref, baseUrl: registryBaseUrl(ref.registry), credentials: { username: registry.username, password: registry.password, origin: 'test' }, signal: new AbortController().signal, actions: 'pull,push' });
      proxy.rules.push({ method: 'PATCH', path: /\/blobs\/uploads\//, times: 1, fault: 'status-413' });
      const shared: { chunked?: boolean } = {};
      for (const size of [9 * 2 ** 20 + 5, 5 * 2 ** 20]) {
        const bytes = randomBytes(size);
        const file = path.join(dir, `blob-${size}`);
        await fs.writeFile(file, bytes);
        expect(await uploadBlob(c, { digest: digestOf(bytes), size, file }, { shared })).toBe('uploaded');
        const back = await fetch(`${registry.url}/v2/test/too-large/blobs/${digestOf(bytes)}`, { headers: { authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}` } });
        expect(Buffer.compare(Buffer.from(await back.arrayBuffer()), bytes)).toBe(0);
      }
      expect(shared.chunked).toBe(true);
      const patches = proxy.log.filter((l) => l.method === 'PATCH' && l.status !== 401);
      // The refused stream, then 3 + 2 chunks of at most 4 MiB, each with its Content-Range.
      expect(patches.filter((l) => l.fault === 'status-413').length).toBe(1);
      expect(patches.filter((l) => l.contentRange).length).toBe(5);
    } finally {
      await proxy.close();
      await cleanup();
    }
  });

  it('resumes an upload a killed run left half done, from the registry\'s own count', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bytes = randomBytes(200_000);
      const digest = digestOf(bytes);
      const c = client('test/resume');
      // Start an upload by hand and send the first half, as a run killed after one chunk would have.
      const post = await c.request('POST', c.repoUrl('blobs/uploads/'), { what: 'test' });
      const location = c.resolveLocation(post.headers.get('location'), 'test');
      const patch = await c.request('PATCH', location, {
        what: 'test',
        body: bytes.subarray(0, 100_000),
        headers: { 'content-type': 'application/octet-stream', 'content-range': '0-99999' },
      });
      const stateDir = path.join(dir, 'state');
      await fs.mkdir(stateDir);
      const key = `${c.ref.registry}_${c.ref.repository}_${digest}`.replace(/[^A-Za-z0-9_.-]/g, '_');
      await fs.writeFile(path.join(stateDir, `${key}.json`), JSON.stringify({ location: c.resolveLocation(patch.headers.get('location'), 'test') }));
      let sent = 0;
      const outcome = await uploadBlob(c, { digest, size: bytes.length, bytes }, { chunkSize: 50_000, stateDir, onProgress: (n) => (sent += n) });
      expect(outcome).toBe('resumed');
      expect(await blobExists(c, digest)).toBe(true);
      expect(await fs.readdir(stateDir)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('without credentials a 401 is TOKEN_REQUIRED; wrong ones are TOKEN_INVALID, the password in no message', async () => {
    const error = await blobExists(client('test/x', false), digestOf(Buffer.from('x'))).catch((e) => e);
    expect(isModelImportError(error) && error.code).toBe('TOKEN_REQUIRED');
    expect(error.exitCode).toBe(4);
    const ref = parseReference(`${registry.host}/test/x:t`);
    const wrong = new RegistryClient({ ref, baseUrl: registryBaseUrl(ref.registry), credentials: { username: 'tester', password: 'not-the-password', origin: 'test' }, signal: new AbortController().signal, actions: 'pull' });
    const refused = await blobExists(wrong, digestOf(Buffer.from('x'))).catch((e) => e);
    expect(refused.code).toBe('TOKEN_INVALID');
    expect(`${refused.message} ${refused.hint}`).not.toContain('not-the-password');
  });

  it('follows a Bearer challenge: asks the token service with Basic credentials for the scope, then sends the token', async () => {
    // A gateway that demands a bearer token and, once given the right one, forwards to the real registry with Basic.
    const token = 'test-bearer-token-1234';
    const seen: { authorization?: string; scope?: string; service?: string }[] = [];
    const basic = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
    const server = http.createServer(async (req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/token') {
        seen.push({ authorization: req.headers.authorization, scope: url.searchParams.get('scope') ?? undefined, service: url.searchParams.get('service') ?? undefined });
        if (req.headers.authorization !== basic) return res.writeHead(401).end();
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        const { port } = server.address() as { port: number };
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:test/bearer:pull"` });
        return res.end();
      }
      const upstream = await fetch(`${registry.url}${req.url}`, { method: req.method, headers: { authorization: basic } });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const ref = parseReference(`127.0.0.1:${port}/test/bearer:t`);
      const c = new RegistryClient({ ref, baseUrl: registryBaseUrl(ref.registry), credentials: { username: registry.username, password: registry.password, origin: 'test' }, signal: new AbortController().signal, actions: 'pull' });
      expect(await blobExists(c, digestOf(Buffer.from('nothing')))).toBe(false);
      expect(seen).toEqual([{ authorization: basic, scope: 'repository:test/bearer:pull', service: 'test-registry' }]);
    } finally {
      server.close();
    }
  });
});
