import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { HttpStatusError, RangeGet, READ_BUFFER_BYTES, type RangeGetOptions } from './range-get.js';
import { TransientError } from '../../../src/index.js';

const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
const servers: (http.Server | net.Server)[] = [];
const sockets = new Set<net.Socket>();
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => s.close(r));
  }
});

async function listen<T extends http.Server | net.Server>(server: T, host = '127.0.0.1'): Promise<string> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

/** A well-behaved file server: ranges, Content-Length. */
function fileServer(onRequest?: (req: http.IncomingMessage) => void): http.Server {
  return http.createServer((req, res) => {
    onRequest?.(req);
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    const [a, b] = m ? [Number(m[1]), Math.min(Number(m[2]), content.length - 1)] : [0, content.length - 1];
    res.writeHead(m ? 206 : 200, { 'content-length': b - a + 1, ...(m ? { 'content-range': `bytes ${a}-${b}/${content.length}` } : {}) });
    res.end(content.subarray(a, b + 1));
  });
}

function options(url: string, o: Partial<RangeGetOptions> = {}): RangeGetOptions {
  return {
    url,
    start: 0,
    end: content.length,
    size: content.length,
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

describe('RangeGet', () => {
  it('reads a range exactly, sending Range and the token to the hub origin', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const url = await listen(fileServer((req) => seen.push(req.headers)));
    const got = await get(options(`${url}/f`, { start: 1000, end: 250_000, token: 'hf_secret_token_1' }));
    expect(got.equals(content.subarray(1000, 250_000))).toBe(true);
    expect(seen[0].range).toBe('bytes=1000-249999');
    expect(seen[0].authorization).toBe('Bearer hf_secret_token_1');
    expect(seen[0]['accept-encoding']).toBe('identity');
  });

  it('skips to the range when a server ignores Range (200), and stops at the end', async () => {
    const url = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-length': content.length });
        res.end(content);
      }),
    );
    expect((await get(options(`${url}/f`, { start: 70_000, end: 90_000 }))).equals(content.subarray(70_000, 90_000))).toBe(true);
  });

  it('decodes chunked bodies', async () => {
    const url = await listen(
      http.createServer((req, res) => {
        const [, a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.map(Number);
        res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${content.length}`, 'transfer-encoding': 'chunked' });
        for (let o = a; o <= b; o += 7777) res.write(content.subarray(o, Math.min(b + 1, o + 7777)));
        res.end();
      }),
    );
    expect((await get(options(`${url}/f`, { start: 5, end: 200_005 }))).equals(content.subarray(5, 200_005))).toBe(true);
  });

  it('follows a relative redirect with the token and a cross-origin one without it', async () => {
    const cdnSeen: (string | undefined)[] = [];
    const cdn = await listen(fileServer((req) => cdnSeen.push(req.headers.authorization)), '127.0.0.1');
    const cdnPort = new URL(cdn).port;
    const hubSeen: (string | undefined)[] = [];
    const hub = await listen(
      http.createServer((req, res) => {
        hubSeen.push(req.headers.authorization);
        if (req.url === '/old') res.writeHead(307, { location: '/new' }).end();
        else res.writeHead(302, { location: `http://localhost:${cdnPort}/blob?sig=1` }).end();
      }),
    );
    const got = await get(options(`${hub}/old`, { token: 'hf_secret_token_1' }));
    expect(got.equals(content)).toBe(true);
    expect(hubSeen).toEqual(['Bearer hf_secret_token_1', 'Bearer hf_secret_token_1']);
    expect(cdnSeen).toEqual([undefined]);
  });

  it('maps answers: 5xx/429 transient (with Retry-After), 4xx final with X-Error-Code, wrong total -> HASH_MISMATCH', async () => {
    let status = 503;
    const url = await listen(
      http.createServer((_req, res) => {
        if (status === 206) {
          res.writeHead(206, { 'content-range': `bytes 0-9/999`, 'content-length': 10 });
          return res.end(content.subarray(0, 10));
        }
        res.writeHead(status, { 'x-error-code': 'GatedRepo', 'retry-after': '2', 'content-type': 'application/json' });
        res.end('{"error":"no"}');
      }),
    );
    const e503 = await failureOf(get(options(`${url}/f`)));
    expect(e503).toBeInstanceOf(TransientError);
    expect((e503 as TransientError).retryAfterMs).toBe(2000);
    status = 403;
    const e403 = await failureOf(get(options(`${url}/f`)));
    expect(e403).toBeInstanceOf(HttpStatusError);
    expect((e403 as HttpStatusError).failure).toMatchObject({ status: 403, code: 'GatedRepo' });
    status = 206;
    const mismatch = await failureOf(get(options(`${url}/org/x/resolve/abc/model.safetensors`)));
    expect(isModelImportError(mismatch) && mismatch.code).toBe('HASH_MISMATCH');
  });

  it('a connection cut mid-body is a transient drop that reports the bytes already received', async () => {
    const url = await listen(
      net.createServer((socket) => {
        socket.once('data', () => {
          socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-${content.length - 1}/${content.length}\r\nContent-Length: ${content.length}\r\n\r\n`);
          socket.end(content.subarray(0, 1234));
        });
      }),
    );
    const parts: Buffer[] = [];
    const request = new RangeGet(options(`${url}/f`));
    const error = await failureOf(request.run((v) => (parts.push(Buffer.from(v)), true)));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe('the connection dropped after 1234 bytes');
    expect(Buffer.concat(parts).equals(content.subarray(0, 1234))).toBe(true);
  });

  it('stalls: no answer, or no bytes mid-body, for stallMs', async () => {
    const silent = await listen(net.createServer(() => undefined));
    const started = Date.now();
    const e1 = await failureOf(get(options(`${silent}/f`, { stallMs: 150 })));
    expect((e1 as Error).message).toBe('no answer for 150 ms (stalled)');
    expect(Date.now() - started).toBeLessThan(1500);
    const midway = await listen(
      net.createServer((socket) => {
        socket.once('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${content.length}\r\n\r\n${'x'.repeat(100)}`));
      }),
    );
    const e2 = await failureOf(get(options(`${midway}/f`, { stallMs: 150 })));
    expect((e2 as Error).message).toBe('no data for 150 ms (stalled)');
  });

  it('a consumer pause is not a stall; resume continues where it stopped', async () => {
    const url = await listen(fileServer());
    // A resume that lands on a watchdog tick used to read as a stall; several rounds make that race likely.
    for (let round = 0; round < 3; round++) {
      const request = new RangeGet(options(`${url}/f`, { stallMs: 100 }));
      const parts: Buffer[] = [];
      let pauses = 0;
      await request.run((view) => {
        parts.push(Buffer.from(view));
        pauses++;
        setTimeout(() => request.resume(), 300); // "the disk" takes a multiple of stallMs
        return false;
      });
      expect(Buffer.concat(parts).equals(content)).toBe(true);
      expect(pauses).toBeGreaterThanOrEqual(2);
    }
  });

  it('aborts promptly on the signal', async () => {
    const url = await listen(net.createServer(() => undefined));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await failureOf(get(options(`${url}/f`, { signal: controller.signal, stallMs: 10_000 })));
    expect((error as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('speaks HTTPS, checking the certificate', async () => {
    let dir: string;
    try {
      dir = mkdtempSync(path.join(os.tmpdir(), 'range-get-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    } catch {
      return; // no openssl on this machine
    }
    const cert = readFileSync(path.join(dir, 'c.pem'));
    const server = https.createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert }, (req, res) => {
      const [, a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.map(Number);
      res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${content.length}`, 'content-length': b - a + 1 });
      res.end(content.subarray(a, b + 1));
    });
    rmSync(dir, { recursive: true, force: true });
    const port = new URL(await listen(server)).port;
    const url = `https://localhost:${port}/f`;
    const got = await get(options(url, { tls: { ca: cert }, start: 3, end: 100_003 }));
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(content.subarray(3, 100_003)).digest('hex'));
    const untrusted = await failureOf(get(options(url)));
    expect(isModelImportError(untrusted) && untrusted.code).toBe('NETWORK');
    expect((untrusted as Error).message).toMatch(/TLS certificate of https:\/\/localhost:\d+ was refused/);
    expect((untrusted as { hint: string }).hint).toContain('NODE_EXTRA_CA_CERTS');
  });
});
