/**
 * /resolve and /raw on the wire (reference §0, §3.3, §3.4), checked with plain fetch and node:http.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBlobSha1, lfsPointer, sha256Hex } from './git-hash.js';
import { handMadeFiles, handMadeRepo } from './hand-made-repo.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const REPO = 'test-org/hand-made';
const files = handMadeFiles();
let hub: FakeHub;
let base: string;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [handMadeRepo(REPO)] });
  base = `${hub.url}/${REPO}/resolve/main`;
});
afterAll(() => hub.close());

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${base}/${path}`, { method, headers });

describe('resolve: ranges', () => {
  const big = Buffer.from(files['big.dat']);

  it('serves the whole file with 200, Content-Length and Accept-Ranges, no Content-Range', async () => {
    const res = await get('big.dat');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.byteLength));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-range')).toBeNull();
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=10-19', 10, 19],
    ['bytes=149990-', 149990, 149999],
    ['bytes=149990-999999', 149990, 149999], // clamped to the end
    ['bytes=-5', 149995, 149999], // suffix
  ])('%s -> 206 with Content-Range', async (range, a, b) => {
    const res = await get('big.dat', { Range: range });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${a}-${b}/${big.byteLength}`);
    expect(res.headers.get('content-length')).toBe(String(b - a + 1));
    expect(Buffer.from(await res.arrayBuffer()).equals(big.subarray(a, b + 1))).toBe(true);
  });

  it('start beyond the end -> 416 with Content-Range bytes */N', async () => {
    const res = await get('big.dat', { Range: `bytes=${big.byteLength}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${big.byteLength}`);
    await res.arrayBuffer();
  });

  it('a 0-byte file answers Range 0-0 with 200 + Content-Range bytes */0', async () => {
    const res = await get('empty.txt', { Range: 'bytes=0-0' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBe('bytes */0');
    expect(res.headers.get('content-length')).toBe('0');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('ignores a malformed or multi-range header (whole file, 200)', async () => {
    for (const range of ['bytes=5-2', 'bytes=0-1,4-5', 'items=0-1']) {
      const res = await get('config.json', { Range: range });
      expect(res.status, range).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(files['config.json'].byteLength);
    }
  });

  it('serves many concurrent ranged requests that reassemble to the file', async () => {
    const part = 4_000;
    const parts = await Promise.all(
      Array.from({ length: Math.ceil(big.byteLength / part) }, async (_, i) => {
        const res = await get('big.dat', { Range: `bytes=${i * part}-${(i + 1) * part - 1}` });
        expect(res.status).toBe(206);
        return Buffer.from(await res.arrayBuffer());
      }),
    );
    expect(Buffer.concat(parts).equals(big)).toBe(true);
  });
});

describe('resolve: headers', () => {
  it('LFS file: ETag and X-Linked-Etag are the quoted sha256, X-Linked-Size, X-Repo-Commit, octet-stream', async () => {
    const bytes = files['model.safetensors'];
    const res = await get('model.safetensors', { Range: 'bytes=0-0' });
    const sha = `"${sha256Hex(bytes)}"`;
    expect(res.headers.get('etag')).toBe(sha);
    expect(res.headers.get('x-linked-etag')).toBe(sha);
    expect(res.headers.get('x-linked-size')).toBe(String(bytes.byteLength));
    expect(res.headers.get('x-repo-commit')).toBe(hub.commitOf(REPO));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    await res.arrayBuffer();
  });

  it('regular file: ETag is the quoted git blob sha1, no X-Linked headers', async () => {
    const res = await get('sub/dir/notes.txt');
    expect(res.headers.get('etag')).toBe(`"${gitBlobSha1(files['sub/dir/notes.txt'])}"`);
    expect(res.headers.get('x-linked-etag')).toBeNull();
    expect(res.headers.get('x-linked-size')).toBeNull();
    expect(await res.text()).toBe('hello\n');
  });

  it('never compresses and never advertises Xet', async () => {
    const res = await get('tokenizer.json', { 'Accept-Encoding': 'gzip, br', Accept: 'application/vnd.xet-fileinfo+json, */*' });
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('x-xet-hash')).toBeNull();
    expect(res.headers.get('link')).toBeNull();
    expect(res.headers.get('content-type')).not.toContain('xet');
    expect((await res.arrayBuffer()).byteLength).toBe(files['tokenizer.json'].byteLength);
  });

  it('HEAD has the GET headers (Content-Length of the full body) and no body', async () => {
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: number }>((resolve, reject) => {
      const req = request(`${base}/model.safetensors`, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' } }, (r) => {
        let body = 0;
        r.on('data', (c: Buffer) => (body += c.byteLength));
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(files['model.safetensors'].byteLength));
    expect(res.headers['x-repo-commit']).toBe(hub.commitOf(REPO));
    expect(res.headers['x-linked-etag']).toBe(`"${sha256Hex(files['model.safetensors'])}"`);
    expect(res.body).toBe(0);
  });

  it('/raw serves plain files as they are and the LFS pointer for LFS files', async () => {
    const plain = await fetch(`${hub.url}/${REPO}/raw/main/config.json`);
    expect(Buffer.from(await plain.arrayBuffer()).equals(Buffer.from(files['config.json']))).toBe(true);
    const raw = await fetch(`${hub.url}/${REPO}/raw/main/model.safetensors`);
    const bytes = files['model.safetensors'];
    const pointer = lfsPointer(sha256Hex(bytes), bytes.byteLength);
    expect(Buffer.from(await raw.arrayBuffer()).equals(pointer)).toBe(true);
    expect(raw.headers.get('etag')).toBe(`"${gitBlobSha1(pointer)}"`);
    expect(raw.headers.get('x-linked-etag')).toBeNull();
  });

  it('missing file: 404 EntryNotFound with X-Repo-Commit, on GET and on HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await get('nope/missing.json', {}, method);
      expect(res.status).toBe(404);
      expect(res.headers.get('x-error-code')).toBe('EntryNotFound');
      expect(res.headers.get('x-error-message')).toBe('Entry not found');
      expect(res.headers.get('x-repo-commit')).toBe(hub.commitOf(REPO));
      if (method === 'GET') expect(await res.json()).toEqual({ error: 'Entry not found' });
    }
  });

  it('counts weight bytes served (safetensors content yes, /raw pointers and configs no)', async () => {
    const before = hub.weightBytesServed(REPO);
    await (await fetch(`${hub.url}/${REPO}/raw/main/model.safetensors`)).arrayBuffer();
    await (await get('config.json')).arrayBuffer();
    expect(hub.weightBytesServed(REPO)).toBe(before);
    await (await get('model.safetensors', { Range: 'bytes=0-99' })).arrayBuffer();
    expect(hub.weightBytesServed(REPO)).toBe(before + 100);
    expect(hub.weightBytesServed()).toBe(before + 100);
    expect(hub.weightBytesServed('test-org/other')).toBe(0);
  });
});
