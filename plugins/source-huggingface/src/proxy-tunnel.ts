/**
 * Talking to an HTTP proxy: the CONNECT tunnel an https:// request needs, and the errors that name the proxy.
 * Messages show the proxy as host:port and the variable it came from, never its credentials; the hub token is
 * never part of anything sent to the proxy itself (Proxy-Authorization and CONNECT carry only the proxy's own
 * credentials).
 */
import net from 'node:net';
import { ModelImportError } from '../../../src/index.js';
import type { Proxy } from './proxy-env.js';
import { TransientError, asTransient } from '../../../src/index.js';

const MAX_HEAD_BYTES = 64 * 1024;

/** A retryable failure that is the proxy's (refused, reset, 5xx on CONNECT); the final error names the proxy. */
export class ProxyError extends TransientError {
  constructor(
    readonly proxy: Proxy,
    what: string,
    retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(what, retryAfterMs, options);
    this.name = 'ProxyError';
  }
}

/** `(proxy 10.0.0.1:3128 from HTTPS_PROXY)`, appended to what went wrong. */
export const proxyNote = (proxy: Proxy) => `(proxy ${proxy.label} from ${proxy.variable})`;

/** The hint for any failure that involves the proxy. */
export function proxyHint(proxy: Proxy, targetHost: string): string {
  return `The proxy comes from ${proxy.variable}: check its address and that it is running, or add ${targetHost} to NO_PROXY to connect to it directly.`;
}

/** A socket error on the connection to the proxy, named after it when it is a network failure. */
export function proxySocketError(proxy: Proxy, error: unknown): unknown {
  if (error instanceof TransientError) return error; // already ours, already says what happened
  const transient = asTransient(error);
  if (!transient) return error;
  return new ProxyError(proxy, `${transient.what} ${proxyNote(proxy)}`, undefined, { cause: error });
}

/** 407: the proxy wants credentials, or refused the ones in the proxy URL. Retrying will not change it. */
export function proxyAuthFailed(proxy: Proxy, targetHost: string): ModelImportError {
  const message = proxy.authorization
    ? `The proxy ${proxy.label} (from ${proxy.variable}) rejected the credentials in its URL (407).`
    : `The proxy ${proxy.label} (from ${proxy.variable}) asks for credentials (407).`;
  return new ModelImportError('NETWORK', message, {
    hint: `Put them in the proxy URL: ${proxy.variable}=http://USER:PASSWORD@${proxy.label} (percent-encode special characters), or add ${targetHost} to NO_PROXY to reach it directly.`,
    details: { proxy: proxy.label, variable: proxy.variable, status: 407 },
  });
}

/** The proxy answered CONNECT with a final refusal (403 by policy, 400, ...). */
export function proxyRefused(proxy: Proxy, target: string, status: number): ModelImportError {
  const host = target.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return new ModelImportError('NETWORK', `The proxy ${proxy.label} (from ${proxy.variable}) refused to connect to ${target} (${status}).`, {
    hint: `The proxy's policy may block ${host}: ask its administrator, check ${proxy.variable}, or add ${host} to NO_PROXY to reach it directly.`,
    details: { proxy: proxy.label, variable: proxy.variable, status },
  });
}

/** `host:port` as a CONNECT target. */
export function authority(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Asks the proxy on `socket` (connecting or connected) for a tunnel to host:port. Resolves once the proxy said 2xx,
 * with the socket paused and no listener of ours left on it, ready for TLS. The caller owns the socket: a timeout or
 * an abort is the caller destroying it, which rejects here.
 */
export function requestTunnel(socket: net.Socket, proxy: Proxy, host: string, port: number, userAgent: string): Promise<void> {
  const target = authority(host, port);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (error?: unknown) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.byteLength;
      const all = Buffer.concat(chunks, length);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (length > MAX_HEAD_BYTES) done(new ProxyError(proxy, `the proxy sent an oversized answer to CONNECT ${proxyNote(proxy)}`));
        return;
      }
      socket.pause();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all.toString('latin1', 0, end));
      const status = m ? Number(m[1]) : 0;
      if (!m) return done(new ProxyError(proxy, `the proxy answered CONNECT with something that is not HTTP ${proxyNote(proxy)}`));
      if (status === 407) return done(proxyAuthFailed(proxy, host));
      if (status >= 500) return done(new ProxyError(proxy, `the proxy answered ${status} to CONNECT ${target} ${proxyNote(proxy)}`));
      if (status < 200 || status > 299) return done(proxyRefused(proxy, target, status));
      // The server speaks only after our TLS hello; bytes here would be a confused proxy.
      if (all.byteLength > end + 4) return done(new ProxyError(proxy, `the proxy sent data after accepting CONNECT ${proxyNote(proxy)}`));
      done();
    };
    const onError = (error: unknown) => done(proxySocketError(proxy, error));
    const onClose = () => done(new ProxyError(proxy, `the proxy closed the connection before answering CONNECT ${proxyNote(proxy)}`));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`, `User-Agent: ${userAgent}`];
    if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`); // buffered by the socket until it connects
  });
}
