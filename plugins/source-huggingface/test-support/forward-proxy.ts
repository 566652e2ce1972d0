/**
 * Test support: a small real forward proxy on 127.0.0.1 that logs what it saw. Absolute-URI requests are
 * forwarded (node:http), CONNECT is answered 200 and piped to the target, unless told to refuse. With `credentials`
 * it answers 407 to anything without the matching Proxy-Authorization.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

export interface ProxyLogEntry {
  method: string;
  /** The request target as sent: an absolute URI, or host:port for CONNECT. */
  target: string;
  proxyAuthorization?: string;
  authorization?: string;
  /** The raw request head as received (to check that no token is anywhere in it). */
  rawHead: string;
  status?: number;
}

export interface ForwardProxyOptions {
  /** `user:password` the proxy requires (407 otherwise). */
  credentials?: string;
  /** Answer every CONNECT with this status instead of tunnelling. */
  connectStatus?: number;
}

export interface ForwardProxy {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  log: ProxyLogEntry[];
  close(): Promise<void>;
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const expected = options.credentials ? `Basic ${Buffer.from(options.credentials).toString('base64')}` : undefined;
  const entry = (req: http.IncomingMessage): ProxyLogEntry => {
    const rawHead = [`${req.method} ${req.url} HTTP/${req.httpVersion}`, ...pairs(req.rawHeaders)].join('\r\n');
    const e: ProxyLogEntry = { method: req.method ?? '', target: req.url ?? '', rawHead };
    if (req.headers['proxy-authorization']) e.proxyAuthorization = req.headers['proxy-authorization'];
    if (req.headers.authorization) e.authorization = req.headers.authorization;
    log.push(e);
    return e;
  };

  const server = http.createServer((req, res) => {
    const e = entry(req);
    if (expected && req.headers['proxy-authorization'] !== expected) {
      e.status = 407;
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': 0 }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      e.status = 400;
      res.writeHead(400).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: `${target.pathname}${target.search}`, headers, agent: false },
      (answer) => {
        e.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (e.status === undefined) {
        e.status = 502;
        res.writeHead(502).end();
      } else res.destroy();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const e = entry(req);
    const refuse = (status: number, extra = '') => {
      e.status = status;
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    if (expected && req.headers['proxy-authorization'] !== expected) return refuse(407, 'Proxy-Authenticate: Basic realm="test"\r\n');
    if (options.connectStatus) return refuse(options.connectStatus);
    const m = /^(.+):(\d+)$/.exec(req.url ?? '');
    if (!m) return refuse(400);
    const upstream = net.connect({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      e.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.byteLength) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => (e.status === undefined ? refuse(502) : client.destroy()));
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nothing listens on (bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function pairs(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push(`${raw[i]}: ${raw[i + 1]}`);
  return out;
}
