/**
 * A `fetch` for one request through an HTTP proxy, on node:http (Node 20's fetch has no proxy support, and undici's
 * ProxyAgent would be a dependency that tunnels even http:// requests and hides the proxy's answers in opaque
 * errors). http:// targets: an absolute-URI request to the proxy, with Proxy-Authorization. https:// targets:
 * CONNECT, then TLS to the hub through the tunnel; the proxy's credentials go only in the CONNECT request.
 *
 * Just what the hub API calls need: one request per connection, no redirect following (the caller does that),
 * no content coding (Accept-Encoding: identity), bodies given as string or bytes.
 */
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { Proxy } from './proxy-env.js';
import { ProxyError, proxyAuthFailed, proxyNote, proxySocketError, requestTunnel } from './proxy-tunnel.js';
import { TransientError } from '../../../src/index.js';

export interface ProxyFetchInit {
  method: string;
  headers: Headers;
  body?: RequestInit['body'];
  signal: AbortSignal;
  /** No byte from the proxy (or the hub behind it) for this long fails the request, retryably. */
  stallMs: number;
  userAgent: string;
  /** Extra TLS options (tests pass a private CA). */
  tls?: Pick<tls.ConnectionOptions, 'ca'>;
}

const NULL_BODY = new Set([101, 204, 205, 304]);
/** What a plain-HTTP proxy answers when it cannot reach the origin; through one, it is as likely the proxy's. */
const GATEWAY = new Set([502, 503, 504]);

export function proxyFetch(url: URL, init: ProxyFetchInit, proxy: Proxy): Promise<Response> {
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (secure ? 443 : 80);
  const body = requestBody(init.body);
  const headers: Record<string, string> = {};
  init.headers.forEach((value, name) => (headers[name] = value));
  delete headers['proxy-authorization']; // only ever ours, and only to the proxy
  headers.host = url.host;
  headers['accept-encoding'] = 'identity';
  headers['user-agent'] ??= init.userAgent;
  if (body) headers['content-length'] = String(body.byteLength);
  if (!secure && proxy.authorization) headers['proxy-authorization'] = proxy.authorization;

  return new Promise<Response>((resolve, reject) => {
    if (init.signal.aborted) return reject(init.signal.reason);
    let connected = false;
    const req = http.request({
      method: init.method,
      path: secure ? `${url.pathname}${url.search}` : `${url.protocol}//${url.host}${url.pathname}${url.search}`,
      headers,
      signal: init.signal,
      createConnection: ((_options: unknown, done: (error: Error | null, socket?: net.Socket) => void) => {
        openThrough(proxy, secure ? { host, port } : undefined, init).then(
          (socket) => {
            connected = true;
            done(null, socket);
          },
          (error: Error) => done(error),
        );
        return undefined;
      }) as unknown as http.ClientRequestArgs['createConnection'],
    });
    req.setTimeout(init.stallMs, () => req.destroy(new TransientError(`no answer for ${init.stallMs} ms (stalled) ${proxyNote(proxy)}`)));
    req.on('error', (error) => reject(!connected || !secure ? proxySocketError(proxy, error) : error));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (!secure && (status === 407 || GATEWAY.has(status))) {
        res.resume();
        req.destroy();
        if (status === 407) return reject(proxyAuthFailed(proxy, host));
        return reject(new ProxyError(proxy, `the proxy or the hub behind it answered ${status} ${proxyNote(proxy)}`));
      }
      if (status < 200 || status > 599) {
        req.destroy();
        return reject(new TransientError(`the answer through the proxy had status ${status} ${proxyNote(proxy)}`));
      }
      const responseHeaders = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
      const hasBody = !NULL_BODY.has(status) && init.method !== 'HEAD';
      if (!hasBody) res.resume();
      const stream = hasBody ? (Readable.toWeb(res) as ReadableStream<Uint8Array>) : null;
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
    });
    req.end(body);
  });
}

/** A socket to the proxy, or (with `tunnelTo`) a TLS socket to the target through a CONNECT tunnel. */
async function openThrough(proxy: Proxy, tunnelTo: { host: string; port: number } | undefined, init: ProxyFetchInit): Promise<net.Socket> {
  const raw = net.connect({ host: proxy.host, port: proxy.port });
  const timer = setTimeout(() => raw.destroy(new ProxyError(proxy, `no answer for ${init.stallMs} ms (stalled) ${proxyNote(proxy)}`)), init.stallMs);
  const onAbort = () => raw.destroy(init.signal.reason as Error);
  init.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (!tunnelTo) {
      await new Promise<void>((resolve, reject) => {
        raw.once('connect', resolve);
        raw.once('error', reject);
      });
      return raw;
    }
    await requestTunnel(raw, proxy, tunnelTo.host, tunnelTo.port, init.userAgent);
    const secure = tls.connect({
      ...init.tls,
      socket: raw,
      servername: net.isIP(tunnelTo.host) ? undefined : tunnelTo.host,
      ALPNProtocols: ['http/1.1'],
    });
    raw.on('error', (error) => secure.destroy(error));
    return secure;
  } catch (error) {
    raw.destroy();
    throw init.signal.aborted ? init.signal.reason : error;
  } finally {
    clearTimeout(timer);
    init.signal.removeEventListener('abort', onAbort);
  }
}

function requestBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('a request body through a proxy must be a string or bytes');
}
