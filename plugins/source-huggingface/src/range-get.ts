/**
 * One ranged GET of file content: a small HTTP/1.1 client on net/tls sockets that read into one reusable buffer
 * (`onread`). Node's http client allocates a fresh buffer per socket read; at loopback speed that garbage costs
 * more CPU than hashing and lets RSS swell by tens of MB. Here every byte is copied once, into the caller's
 * batch, and nothing is allocated per read.
 *
 * Only what file downloads need: GET, Content-Length or chunked bodies, one request per connection
 * (`Connection: close`). Redirects are followed by hand so the token is sent to the hub's own origin only.
 * A watchdog turns "no bytes for stallMs" into a retryable failure; so are 5xx/429, resets and early ends.
 * The answer's framing (status line, headers, Content-Length / chunked body) is read by http-framing.ts.
 *
 * Proxies (proxy-env.ts), decided per hop: an http:// URL is asked of the proxy as an absolute URI with
 * Proxy-Authorization; an https:// URL goes through a CONNECT tunnel (the proxy's credentials only in CONNECT),
 * then TLS to the hub. A TLS socket over a tunnel cannot take `onread`, so that one path reads 'data' events.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ModelImportError } from '../../../src/index.js';
import { certificateError, type HubFailure } from './hub-errors.js';
import type { Proxy, ProxyEnv } from './proxy-env.js';
import { ProxyError, proxyAuthFailed, proxyNote, proxySocketError, requestTunnel } from './proxy-tunnel.js';
import { TransientError, asTransient, isRetryableStatus, retryAfterMs } from '../../../src/index.js';
import { BodyReader, parseHead, type Head } from './http-framing.js';

/** Size of the reusable socket read buffer; a consumer must accept this much after asking for a pause. */
export const READ_BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_REDIRECTS = 10;

/** A final HTTP answer that retrying will not change (401, 403, 404, ...). */
export class HttpStatusError extends Error {
  constructor(readonly failure: HubFailure) {
    super(`HTTP ${failure.status}${failure.code ? ` ${failure.code}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

export interface RangeGetOptions {
  url: string;
  /** First byte wanted. */
  start: number;
  /** One past the last byte wanted. */
  end: number;
  /** Size of the whole file, as listed. */
  size: number;
  token?: string;
  /** A whole Authorization value instead of the token (the OCI source's Basic or Bearer), sent the same way. */
  authorization?: string;
  /** Origin that may receive the token (the hub's). */
  authOrigin: string;
  signal: AbortSignal;
  stallMs: number;
  userAgent: string;
  /** Reused between requests of one worker; at least READ_BUFFER_BYTES. */
  readBuffer: Buffer;
  /** Extra TLS options (tests pass a private CA). */
  tls?: Pick<tls.ConnectionOptions, 'ca'>;
  /** The proxies from the environment; without it every request goes direct. */
  proxies?: ProxyEnv;
}

/**
 * Receives the wanted bytes in order. A view is valid only during the call (copy it). Returning false pauses the
 * socket until `resume()` is called; the consumer must still have taken the bytes of that call.
 */
export type BodyConsumer = (view: Buffer) => boolean;

export class RangeGet {
  private socket: net.Socket | undefined;
  private paused = false;
  private failCurrent: ((error: unknown) => void) | undefined;
  private refreshWatchdog: (() => void) | undefined;
  /** Bytes handed to the consumer. */
  received = 0;

  constructor(private readonly o: RangeGetOptions) {}

  /** Stops the request with `error` (e.g. the disk write failed). */
  fail(error: unknown): void {
    this.failCurrent?.(error);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.refreshWatchdog?.(); // the stall clock restarts now, not when the pause began
    this.socket?.resume();
  }

  async run(consume: BodyConsumer): Promise<void> {
    let url = new URL(this.o.url);
    for (let hop = 0; ; hop++) {
      const location = await this.exchange(url, consume);
      if (location === undefined) return;
      if (hop >= MAX_REDIRECTS) throw new TransientError('too many redirects');
      // A redirect to an unreadable address or to file:/ftp:/data: is the hub's doing and will not change on retry.
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw badRedirect(url, 'an unreadable address');
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw badRedirect(url, `a ${next.protocol} address`);
      url = next;
    }
  }

  /** One request on one connection; resolves with a redirect target, or undefined once the body is complete. */
  private exchange(url: URL, consume: BodyConsumer): Promise<string | undefined> {
    const o = this.o;
    return new Promise((resolve, reject) => {
      if (o.signal.aborted) return reject(o.signal.reason);
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') return reject(new TransientError(`the hub redirected to an unsupported URL scheme ${url.protocol}`));
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = Number(url.port) || (secure ? 443 : 80);
      let via: Proxy | undefined;
      try {
        via = o.proxies?.for(url);
      } catch (error) {
        return reject(error);
      }
      /** The socket that speaks HTTP, once there is one; `raw` is the proxy connection under a tunnel. */
      let socket: net.Socket | undefined;
      let raw: net.Socket | undefined;
      let tunnelling = false;

      let settled = false;
      let head: Head | undefined;
      const headChunks: Buffer[] = [];
      let headLength = 0;
      let body: BodyReader | undefined;

      const finish = (error: unknown, location?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        o.signal.removeEventListener('abort', onAbort);
        socket?.destroy();
        raw?.destroy();
        this.socket = undefined;
        if (error !== undefined) reject(error);
        else resolve(location);
      };
      const watchdog = setTimeout(function fire() {
        if (paused()) return void watchdog.refresh(); // waiting for our disk is not the hub stalling
        const what = head ? `no data for ${formatSeconds(o.stallMs)} (stalled)` : `no answer for ${formatSeconds(o.stallMs)} (stalled)`;
        finish(via && tunnelling ? new ProxyError(via, `${what} ${proxyNote(via)}`) : new TransientError(what));
      }, o.stallMs);
      const paused = () => this.paused;
      this.refreshWatchdog = () => watchdog.refresh();
      this.failCurrent = (error) => finish(error);
      const onAbort = () => finish(o.signal.reason ?? new DOMException('The operation was aborted.', 'AbortError'));
      o.signal.addEventListener('abort', onAbort, { once: true });

      const onHead = (h: Head): string | undefined | 'body' => {
        const { status, headers } = h;
        if (via && !secure) {
          // Through a plain-HTTP proxy these may be the proxy's own answers.
          if (status === 407) throw proxyAuthFailed(via, host);
          if (status === 502 || status === 503 || status === 504) {
            throw new ProxyError(via, `the proxy or the hub behind it answered ${status} ${proxyNote(via)}`, retryAfterMs(headers.get('retry-after')));
          }
        }
        if (status >= 300 && status < 400 && headers.has('location')) return headers.get('location');
        if (status !== 200 && status !== 206) {
          const failure: HubFailure = { status, code: headers.get('x-error-code'), message: headers.get('x-error-message') };
          if (isRetryableStatus(status)) throw new TransientError(`the hub answered ${status}`, retryAfterMs(headers.get('retry-after')));
          throw new HttpStatusError(failure);
        }
        // Where the body starts in the file: a 200 ignores the range, so skip to `start`.
        let at = 0;
        const length = headers.has('content-length') ? Number(headers.get('content-length')) : undefined;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers.get('content-range') ?? '');
          if (!m) throw new TransientError('the hub sent a partial answer without a valid Content-Range');
          if (m[3] !== '*' && Number(m[3]) !== o.size) throw sizeChanged(o.url, o.size, Number(m[3]));
          at = Number(m[1]);
          if (at > o.start) throw new TransientError(`the hub answered the range from byte ${at} instead of ${o.start}`);
        } else if (length !== undefined && length !== o.size) {
          throw sizeChanged(o.url, o.size, length);
        }
        const chunked = /\bchunked\b/i.test(headers.get('transfer-encoding') ?? '');
        body = new BodyReader(at, o.start, o.end, chunked ? undefined : length, chunked);
        return 'body';
      };

      const feedBody = (view: Buffer): void => {
        const reader = body!;
        let wantPause = false;
        reader.feed(view, (piece) => {
          this.received += piece.byteLength;
          if (consume(piece) === false) wantPause = true;
        });
        if (reader.failed) return finish(new TransientError(reader.failed));
        if (reader.complete) return finish(undefined);
        if (wantPause) {
          this.paused = true;
          socket!.pause();
        }
      };

      const onRead = (n: number, buf: Uint8Array): boolean => {
        if (settled) return false;
        watchdog.refresh();
        const view = Buffer.from(buf.buffer, buf.byteOffset, n);
        try {
          if (head) {
            feedBody(view);
          } else {
            headChunks.push(Buffer.from(view)); // the head is small; copy it out of the shared buffer
            headLength += n;
            const all = headChunks.length === 1 ? headChunks[0] : Buffer.concat(headChunks, headLength);
            const endOfHead = all.indexOf('\r\n\r\n');
            if (endOfHead < 0) {
              if (headLength > MAX_HEAD_BYTES) throw new TransientError('the hub sent an oversized response head');
              return true;
            }
            head = parseHead(all.subarray(0, endOfHead));
            const next = onHead(head);
            if (next !== 'body') {
              finish(undefined, next);
              return false;
            }
            const rest = all.subarray(endOfHead + 4);
            if (rest.byteLength) feedBody(rest);
            else if (body!.complete) finish(undefined);
          }
        } catch (error) {
          finish(error);
          return false;
        }
        return !this.paused;
      };

      const sendRequest = (s: net.Socket) => {
        const absolute = via !== undefined && !secure;
        const lines = [
          `GET ${absolute ? `${url.protocol}//${url.host}` : ''}${url.pathname}${url.search} HTTP/1.1`,
          `Host: ${url.host}`,
          `Range: bytes=${o.start}-${o.end - 1}`,
          'Accept-Encoding: identity',
          `User-Agent: ${o.userAgent}`,
          'Connection: close',
        ];
        // The proxy's credentials go to the proxy only: in this request when it is the proxy's, else in CONNECT.
        if (absolute && via!.authorization) lines.push(`Proxy-Authorization: ${via!.authorization}`);
        // The token goes to the hub's origin only, never to a CDN or any other host a redirect names.
        if (o.token && url.origin === o.authOrigin) lines.push(`Authorization: Bearer ${o.token}`);
        else if (o.authorization && url.origin === o.authOrigin) lines.push(`Authorization: ${o.authorization}`);
        s.write(`${lines.join('\r\n')}\r\n\r\n`);
      };
      /** Wires the HTTP socket: request on `ready`, reads, errors (named after the proxy when it is the peer). */
      const speak = (s: net.Socket, ready: 'connect' | 'secureConnect', dataEvents: boolean) => {
        socket = s;
        this.socket = s;
        s.setNoDelay(true);
        s.once(ready, () => sendRequest(s));
        if (dataEvents) s.on('data', (chunk: Buffer) => void onRead(chunk.byteLength, chunk)); // pauses itself
        s.on('error', (error) => {
          if (via && !secure) return finish(proxySocketError(via, error));
          finish(certificateError(error, url.origin) ?? asTransient(error) ?? error);
        });
        s.on('close', () => {
          if (settled) return;
          body?.connectionClosed();
          if (body?.complete) return finish(undefined);
          finish(new TransientError(head ? `the connection dropped after ${this.received} bytes` : 'the connection closed before an answer'));
        });
      };

      const onread = { buffer: o.readBuffer, callback: onRead };
      if (!via) {
        speak(
          secure
            ? tls.connect({ ...o.tls, host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread } as tls.ConnectionOptions)
            : net.connect({ host, port, onread }),
          secure ? 'secureConnect' : 'connect',
          false,
        );
      } else if (!secure) {
        speak(net.connect({ host: via.host, port: via.port, onread }), 'connect', false);
      } else {
        const proxy = via;
        raw = net.connect({ host: proxy.host, port: proxy.port });
        raw.setNoDelay(true);
        tunnelling = true;
        requestTunnel(raw, proxy, host, port, o.userAgent).then(
          () => {
            tunnelling = false;
            if (settled) return;
            watchdog.refresh();
            const tunnelled = tls.connect({ ...o.tls, socket: raw, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] });
            raw!.on('error', (error) => finish(asTransient(error) ?? error));
            speak(tunnelled, 'secureConnect', true);
          },
          (error: unknown) => finish(error),
        );
      }
    });
  }
}

function sizeChanged(url: string, listed: number, served: number): ModelImportError {
  const file = decodeURIComponent(new URL(url).pathname.split('/resolve/')[1]?.split('/').slice(1).join('/') ?? url);
  return new ModelImportError('HASH_MISMATCH', `The hub serves ${file} with ${served} bytes, but its listing says ${listed}.`, {
    hint: 'The repository content does not match its own listing; nothing was imported. Report it to the repository owner.',
    details: { path: file, listed, served },
  });
}

export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function badRedirect(url: URL, what: string): ModelImportError {
  return new ModelImportError('NETWORK', `The hub redirected the download of ${url.pathname} to ${what}; only http(s) redirects are followed.`, {
    hint: 'Check HF_ENDPOINT; a proxy or mirror may be misconfigured.',
  });
}
