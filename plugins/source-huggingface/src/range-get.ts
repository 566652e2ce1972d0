/**
 * One ranged GET of file content, on node:http(s) (fast, with real backpressure), yielding the bytes of
 * [start, end) as they arrive. Redirects are followed by hand so the token is sent to the hub's own origin only.
 * A watchdog turns "no bytes for stallMs" into a retryable failure; so are 5xx/429, resets and early ends.
 */
import http from 'node:http';
import https from 'node:https';
import { ModelImportError } from '../../../src/index.js';
import type { HubFailure } from './hub-errors.js';
import { TransientError, asTransient, isRetryableStatus, retryAfterMs } from './retry-policy.js';

export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

export function createAgents(connections: number): Agents {
  const options = { keepAlive: true, maxSockets: connections, scheduling: 'fifo' as const };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

export function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
}

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
  /** Origin that may receive the token (the hub's). */
  authOrigin: string;
  signal: AbortSignal;
  stallMs: number;
  agents: Agents;
  userAgent: string;
}

const MAX_REDIRECTS = 10;

export async function* rangeGet(o: RangeGetOptions): AsyncGenerator<Buffer> {
  let stalled = false;
  let paused = false;
  let request: http.ClientRequest | undefined;
  let response: http.IncomingMessage | undefined;
  const watchdog = setTimeout(function fire() {
    if (paused) return void watchdog.refresh();
    stalled = true;
    request?.destroy();
  }, o.stallMs);
  const stallError = () => new TransientError(`no data for ${formatSeconds(o.stallMs)} (stalled)`);
  let received = 0;
  try {
    let res: http.IncomingMessage;
    let url = new URL(o.url);
    for (let hop = 0; ; hop++) {
      const sent = send(url, o, () => stalled);
      request = sent.req;
      res = response = await sent.response;
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
        drain(res);
        if (hop >= MAX_REDIRECTS) throw new TransientError('too many redirects');
        url = new URL(location, url);
        continue;
      }
      break;
    }
    const status = res.statusCode ?? 0;
    if (status !== 200 && status !== 206) {
      drain(res);
      const failure: HubFailure = { status, code: header(res, 'x-error-code'), message: header(res, 'x-error-message') };
      if (isRetryableStatus(status)) throw new TransientError(`the hub answered ${status}`, retryAfterMs(header(res, 'retry-after')));
      throw new HttpStatusError(failure);
    }
    // Where the body starts in the file: a 200 ignores the range, so skip to `start`.
    let at = 0;
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
      if (!m) throw new TransientError('the hub sent a partial answer without a valid Content-Range');
      if (m[3] !== '*' && Number(m[3]) !== o.size) throw sizeChanged(o.url, o.size, Number(m[3]));
      at = Number(m[1]);
      if (at > o.start) throw new TransientError(`the hub answered the range from byte ${at} instead of ${o.start}`);
    } else {
      const length = Number(header(res, 'content-length'));
      if (Number.isFinite(length) && header(res, 'content-length') !== undefined && length !== o.size) throw sizeChanged(o.url, o.size, length);
    }
    for await (const chunk of res as AsyncIterable<Buffer>) {
      watchdog.refresh();
      let piece = chunk;
      if (at < o.start) {
        const skip = Math.min(piece.byteLength, o.start - at);
        at += skip;
        piece = piece.subarray(skip);
      }
      const room = o.end - at;
      if (piece.byteLength > room) piece = piece.subarray(0, room);
      if (piece.byteLength === 0 && at >= o.end) break;
      if (piece.byteLength === 0) continue;
      at += piece.byteLength;
      received += piece.byteLength;
      paused = true; // the consumer's disk write is not the hub's stall
      yield piece;
      paused = false;
      watchdog.refresh();
    }
    if (stalled) throw stallError();
    if (at < o.end) throw new TransientError(`the connection dropped after ${received} bytes`);
  } catch (error) {
    if (o.signal.aborted) throw error;
    if (stalled) throw stallError();
    if (error instanceof TransientError || error instanceof HttpStatusError || error instanceof ModelImportError) throw error;
    const transient = asTransient(error);
    if (transient) throw received ? new TransientError(`${transient.what} after ${received} bytes`) : transient;
    throw error;
  } finally {
    clearTimeout(watchdog);
    // Ending early (cut at `end`, error, abort) leaves bytes on the socket: never hand it back to the pool.
    if (request && !request.destroyed && !response?.complete) request.destroy();
  }
}

function send(url: URL, o: RangeGetOptions, stalled: () => boolean): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new TransientError(`the hub redirected to an unsupported URL scheme ${url.protocol}`);
  const headers: Record<string, string> = {
    range: `bytes=${o.start}-${o.end - 1}`,
    'accept-encoding': 'identity',
    'user-agent': o.userAgent,
  };
  // The token goes to the hub's origin only, never to a CDN or any other host a redirect names.
  if (o.token && url.origin === o.authOrigin) headers.authorization = `Bearer ${o.token}`;
  const req = (secure ? https : http).request(url, { method: 'GET', headers, agent: secure ? o.agents.https : o.agents.http, signal: o.signal });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', (error) => reject(stalled() ? new TransientError('stalled') : error));
  });
  // Errors after the answer arrived surface through the body stream; this only keeps them from being unhandled.
  req.on('error', () => undefined);
  req.end();
  return { req, response };
}

function drain(res: http.IncomingMessage): void {
  res.on('error', () => undefined);
  res.resume();
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
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
