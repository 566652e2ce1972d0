/**
 * A hostile hub for the fuzz tier: a server in front of the real fake hub that answers each request either with
 * the real answer (so imports get past the first requests) or with seeded garbage: wrong JSON shapes and types,
 * null, truncated bodies, bad or oversized headers, not-HTTP bytes, redirects to file:/ftp:/itself, slow bodies,
 * a gzip bomb, rate limits, error headers carrying terminal escapes, a `Link: rel=next` that points back at itself.
 *
 * The endpoint of case N is `<url>/c<N>`: the case is read from the path, and every decision comes from a stream
 * seeded by (seed, case, request number), so a case replays exactly from its seed.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { makeRng, type Rng } from './seeded-random.js';

/** Text that would drive a terminal if printed raw: colours, clear screen, an OSC 8 link, a bidi override. */
export const EVIL_TEXT = ['\x1b[31mred\x1b[0m', '\x1b[2J\x1b[H', '\x1b]8;;https://evil.example\x07click\x1b]8;;\x07', 'abc\u202etxt.exe', '\r\x1b[Kok', 'bell\x07', '\x9b31m'];

export type GarbageKind =
  | 'real'
  | 'json'
  | 'truncated'
  | 'status'
  | 'rate-limit'
  | 'raw-headers'
  | 'not-http'
  | 'redirect'
  | 'slow'
  | 'hang'
  | 'gzip-bomb'
  | 'self-link'
  | 'empty';

const WEIGHTS: [GarbageKind, number][] = [
  ['real', 40],
  ['json', 12],
  ['truncated', 6],
  ['status', 8],
  ['rate-limit', 4],
  ['raw-headers', 5],
  ['not-http', 3],
  ['redirect', 6],
  ['slow', 3],
  ['hang', 1],
  ['gzip-bomb', 1],
  ['self-link', 6],
  ['empty', 3],
];

export interface FuzzHub {
  url: string;
  /** Requests answered, by kind. */
  kinds: Map<GarbageKind, number>;
  close(): Promise<void>;
}

function pickWeighted(rng: Rng): GarbageKind {
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [kind, w] of WEIGHTS) if ((r -= w) < 0) return kind;
  return 'real';
}

/** A random JSON value of the wrong shape, sometimes close to the right one (right keys, wrong types). */
export function garbageJson(rng: Rng, depth = 0): unknown {
  const evil = () => rng.pick(EVIL_TEXT);
  const choice = rng.int(0, depth > 2 ? 5 : 9);
  switch (choice) {
    case 0:
      return null;
    case 1:
      return rng.pick([0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5]);
    case 2:
      return rng.pick(['', evil(), 'x'.repeat(rng.int(1, 5000)), 'null']);
    case 3:
      return rng.chance(0.5);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return Array.from({ length: rng.int(1, 5) }, () => garbageJson(rng, depth + 1));
    default: {
      // Keys the hub really uses, values of any type.
      const keys = ['id', 'sha', 'siblings', 'cardData', 'config', 'tags', 'gated', 'private', 'path', 'type', 'size', 'oid', 'lfs', 'license', 'license_name', 'license_link', 'architectures', 'model_type', 'error'];
      const out: Record<string, unknown> = {};
      for (let i = rng.int(1, 8); i > 0; i--) out[rng.pick(keys)] = rng.chance(0.3) ? evil() : garbageJson(rng, depth + 1);
      if (rng.chance(0.3)) out.config = { architectures: [evil()], model_type: evil() };
      if (rng.chance(0.3)) out.cardData = { license: evil(), license_name: evil(), license_link: evil() };
      return out;
    }
  }
}

let bomb: Buffer | undefined;
/** 48 MiB of zeros, gzipped (about 48 KiB on the wire): more than the API body cap once inflated. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(48 * 1024 * 1024));
  return bomb;
}

export async function startFuzzHub(realHubUrl: string, seed: number, stallMs: number): Promise<FuzzHub> {
  const counters = new Map<number, number>();
  const kinds = new Map<GarbageKind, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    void handle(req, res).catch(() => res.socket?.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function forward(rest: string, req: http.IncomingMessage): Promise<Response> {
    const headers: Record<string, string> = {};
    for (const name of ['range', 'authorization', 'accept']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
    return fetch(`${realHubUrl}${rest}`, { method: req.method, headers, redirect: 'manual' });
  }

  async function sendReal(res: http.ServerResponse, real: Response, mutate?: (h: Headers) => void): Promise<void> {
    const headers = new Headers(real.headers);
    headers.delete('content-encoding');
    headers.delete('transfer-encoding');
    headers.delete('connection');
    mutate?.(headers);
    const body = Buffer.from(await real.arrayBuffer());
    headers.set('content-length', String(body.length));
    res.writeHead(real.status, Object.fromEntries(headers));
    res.end(body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const match = /^\/c(\d+)(\/.*)$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const kase = Number(match[1]);
    const rest = match[2];
    const n = counters.get(kase) ?? 0;
    counters.set(kase, n + 1);
    const rng = makeRng((seed ^ Math.imul(kase + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0);
    let kind = pickWeighted(rng);
    const isTree = rest.includes('/tree/');
    if (kind === 'self-link' && !isTree) kind = 'real';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const self = `http://${req.headers.host}${req.url}`;
    const evil = () => rng.pick(EVIL_TEXT);

    switch (kind) {
      case 'real':
        return sendReal(res, await forward(rest, req), (h) => {
          // Absolute redirects of the real hub point at it: keep them (another origin, so no token follows).
          if (rng.chance(0.1)) h.set('x-error-message', evil());
        });
      case 'self-link':
        return sendReal(res, await forward(rest, req), (h) => h.set('link', `<${self}>; rel="next"`));
      case 'json': {
        const body = Buffer.from(JSON.stringify(garbageJson(rng)) ?? 'null');
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
        return;
      }
      case 'empty':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 0 });
        res.end();
        return;
      case 'truncated': {
        const real = await forward(rest, req);
        const body = Buffer.from(await real.arrayBuffer());
        res.writeHead(real.status, { 'content-type': real.headers.get('content-type') ?? 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, rng.int(0, Math.max(0, body.length - 1))));
        res.socket?.destroy();
        return;
      }
      case 'status': {
        const status = rng.pick([400, 401, 403, 404, 410, 416, 422, 451, 500, 502, 503, 504]);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (rng.chance(0.6)) headers['x-error-code'] = rng.pick(['RepoNotFound', 'GatedRepo', 'EntryNotFound', 'RevisionNotFound', evil()]);
        if (rng.chance(0.6)) headers['x-error-message'] = evil();
        res.writeHead(status, headers).end(JSON.stringify({ error: evil() }));
        return;
      }
      case 'rate-limit': {
        const headers: Record<string, string> = {};
        const t = rng.pick([0, 1, 150, 3600]);
        if (rng.chance(0.8)) headers.ratelimit = rng.pick([`"api";r=0;t=${t}`, `"api";r=5;t=${t}`, 'garbage;;;=', `"api";r=0;t=-3`]);
        if (rng.chance(0.4)) headers['retry-after'] = rng.pick([String(t), 'Wed, 21 Oct 2015 07:28:00 GMT', 'soon', '-1']);
        res.writeHead(429, headers).end();
        return;
      }
      case 'raw-headers': {
        const socket = res.socket!;
        const bad = rng.pick([
          'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}',
          'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}',
          `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`,
          'HTTP/1.1 200 OK\r\nBad Header Name: x\r\nContent-Length: 2\r\n\r\n{}',
          'HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\n{}',
          'HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n',
          `HTTP/1.1 302 Found\r\nLocation: \x1b[31m\r\nContent-Length: 0\r\n\r\n`,
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        ]);
        socket.end(bad);
        return;
      }
      case 'not-http':
        res.socket!.end(rng.pick(['SSH-2.0-OpenSSH_9.6\r\n', '\x00\x01\x02\x03', 'garbage\r\n\r\n', '']));
        return;
      case 'redirect': {
        const target = rng.pick(['file:///etc/passwd', 'ftp://127.0.0.1/model.safetensors', self, 'http://[::1', 'data:text/plain,hi', '//', 'javascript:alert(1)', `${self}?x`]);
        res.writeHead(rng.pick([301, 302, 303, 307, 308]), { location: target }).end();
        return;
      }
      case 'slow': {
        // Half a body, then nothing for longer than the stall limit, then the connection goes.
        const real = await forward(rest, req);
        const body = Buffer.from(await real.arrayBuffer());
        res.writeHead(real.status, { 'content-type': real.headers.get('content-type') ?? 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1));
        later(stallMs * 3, () => res.socket?.destroy());
        return;
      }
      case 'hang':
        later(stallMs * 4, () => res.socket?.destroy());
        return;
      case 'gzip-bomb': {
        const body = gzipBomb();
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
        return;
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    kinds,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
