/**
 * The `fetch` handed to @huggingface/hub and used for our own small reads. It adds what the library lacks:
 * - the token goes only to the hub's own origin: we add Authorization ourselves, per hop, and follow redirects
 *   by hand so a redirect (or a pagination link) to another origin never carries it;
 * - X-Error-Code is read (the library hides it) and every non-2xx becomes our typed error, thrown from fetch
 *   itself, so the library's own error never surfaces;
 * - 5xx, 429 and dropped connections are retried with backoff within the retry budget;
 * - the stage's AbortSignal cancels everything;
 * - HTTPS_PROXY / HTTP_PROXY / NO_PROXY (proxy-env.ts) are honoured per hop: a proxied hop goes through
 *   proxyFetch (Node's fetch knows no proxy), a direct one through Node's fetch as before.
 */
import { ModelImportError } from '../../../src/index.js';
import { certificateError, type HubFailure } from './hub-errors.js';
import type { ProxyEnv } from './proxy-env.js';
import { proxyFetch, type ProxyFetchInit } from './proxy-fetch.js';
import { ProxyError, proxyHint } from './proxy-tunnel.js';
import { TransientError, abortReason, asTransient, isRetryableStatus, retryAfterMs, sleep, RetryTracker, type RetryPolicy } from './retry-policy.js';

export interface HubFetchOptions {
  endpoint: string;
  token?: string;
  signal: AbortSignal;
  retry: RetryPolicy;
  /** Builds the error thrown for a final non-2xx answer. */
  onFailure(failure: HubFailure, url: URL): Error;
  /** Called before waiting to retry (for a warning line). */
  onRetry?(what: string, delayMs: number): void;
  /** The proxies from the environment; without it every request goes direct. */
  proxies?: ProxyEnv;
  /** Proxied requests only: no byte for this long is a retryable stall (default 30 s). */
  stallMs?: number;
  /** Proxied requests only: the User-Agent when the caller sets none. */
  userAgent?: string;
  /** Proxied requests only: extra TLS options (tests pass a private CA). */
  tls?: ProxyFetchInit['tls'];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export function createHubFetch(options: HubFetchOptions): typeof fetch {
  const origin = new URL(options.endpoint).origin;
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const start = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const tracker = new RetryTracker(options.retry);
    for (;;) {
      if (options.signal.aborted) throw abortReason(options.signal);
      try {
        const res = await fetchFollowing(start, init, options, origin);
        if (res.ok) return res;
        const failure: HubFailure = {
          status: res.status,
          code: res.headers.get('x-error-code') ?? undefined,
          message: res.headers.get('x-error-message') ?? undefined,
        };
        await res.body?.cancel().catch(() => undefined);
        if (!isRetryableStatus(res.status)) throw options.onFailure(failure, start);
        throw new TransientError(`the hub answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')), {
          cause: options.onFailure(failure, start),
        });
      } catch (error) {
        if (options.signal.aborted) throw abortReason(options.signal);
        const refused = certificateError(error, start.origin);
        if (refused) throw refused;
        const transient = asTransient(error);
        if (!transient) throw error;
        const delay = tracker.failed(transient);
        if (delay === undefined) throw finalError(transient, start, tracker);
        options.onRetry?.(transient.what, delay);
        await sleep(delay, options.signal);
      }
    }
  };
}

async function fetchFollowing(url: URL, init: RequestInit | undefined, options: HubFetchOptions, origin: string): Promise<Response> {
  let current = url;
  let method = init?.method ?? 'GET';
  let body = init?.body;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = new Headers(init?.headers);
    headers.delete('authorization');
    if (options.token && current.origin === origin) headers.set('authorization', `Bearer ${options.token}`);
    const signal = init?.signal ? AbortSignal.any([options.signal, init.signal]) : options.signal;
    const proxy = options.proxies?.for(current);
    const res = proxy
      ? await proxyFetch(current, { method, headers, body, signal, stallMs: options.stallMs ?? 30_000, userAgent: options.userAgent ?? 'model-import', tls: options.tls }, proxy)
      : await fetch(current, { ...init, method, body, headers, signal, redirect: 'manual' });
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || !location) return res;
    await res.body?.cancel().catch(() => undefined);
    current = new URL(location, current);
    if (res.status === 303) {
      method = 'GET';
      body = undefined;
    }
  }
  throw new ModelImportError('NETWORK', `The hub redirected ${url.pathname} more than ${MAX_REDIRECTS} times.`, {
    hint: 'Check HF_ENDPOINT; a proxy or mirror may be misconfigured.',
  });
}

function finalError(transient: TransientError, url: URL, tracker: RetryTracker): Error {
  if (transient.cause instanceof ModelImportError) return transient.cause;
  return new ModelImportError('NETWORK', `Could not reach the hub at ${url.origin} for ${url.pathname}: ${transient.what} (gave up after ${tracker.attempts} attempts).`, {
    hint: transient instanceof ProxyError ? proxyHint(transient.proxy, url.hostname) : 'Check your connection and HF_ENDPOINT, then run the same command again.',
    cause: transient,
  });
}

/**
 * Reads a response body, refusing more than `max` bytes (a config is small; anything else is hostile), or with
 * `truncate` keeping just the first `max` bytes.
 */
export async function readCapped(res: Response, max: number, what: string, truncate = false): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (!truncate && Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(what, max);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.byteLength > max) {
      await reader.cancel().catch(() => undefined);
      if (!truncate) throw tooLarge(what, max);
      chunks.push(Buffer.from(value.subarray(0, max - length)));
      length = max;
      break;
    }
    length += value.byteLength;
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, length);
}

function tooLarge(what: string, max: number): ModelImportError {
  return new ModelImportError('BAD_INPUT', `${what} is larger than ${max} bytes, which no such file should be.`, {
    hint: 'The repository serves an unexpected file; report it to its owner.',
  });
}

/** GET a small file whole (or a prefix with `range`), retrying drops that happen while the body streams. */
export async function fetchSmall(
  hubFetch: typeof fetch,
  url: string,
  opts: { max: number; what: string; range?: string; retry: RetryPolicy; signal: AbortSignal; truncate?: boolean },
): Promise<Buffer> {
  const tracker = new RetryTracker(opts.retry);
  for (;;) {
    const res = await hubFetch(url, { headers: opts.range ? { range: opts.range } : {} });
    try {
      return await readCapped(res, opts.max, opts.what, opts.truncate);
    } catch (error) {
      if (opts.signal.aborted) throw abortReason(opts.signal);
      const transient = asTransient(error);
      if (!transient) throw error;
      const delay = tracker.failed(transient);
      if (delay === undefined) throw finalError(transient, new URL(url), tracker);
      await sleep(delay, opts.signal);
    }
  }
}
