/**
 * The `fetch` handed to @huggingface/hub and used for our own small reads. It adds what the library lacks:
 * - the token goes only to the hub's own origin: we add Authorization ourselves, per hop, and follow redirects
 *   by hand so a redirect (or a pagination link) to another origin never carries it;
 * - X-Error-Code is read (the library hides it) and every non-2xx becomes our typed error, thrown from fetch
 *   itself, so the library's own error never surfaces;
 * - 5xx, 429 and dropped connections are retried with backoff within the retry budget;
 * - the stage's AbortSignal cancels everything;
 * - HTTPS_PROXY / HTTP_PROXY / NO_PROXY (proxy-env.ts) are honoured per hop: a proxied hop goes through
 *   proxyFetch (Node's fetch knows no proxy), a direct one through Node's fetch as before;
 * - every request has a clock: no answer, or no body byte, for stallMs is a retryable stall (direct hops too);
 * - API answers (/api/...) are read whole here, capped at API_BODY_MAX bytes after decompression, so the library
 *   never holds a body that could not become a string;
 * - a rate limit (`RateLimit: "api";r=0;t=150`, or Retry-After) is waited out when it ends within the retry
 *   budget (with a line saying how long), else the import stops at once saying when to try again;
 * - redirects go to http(s) only; an answer that is not HTTP at all, or a token that cannot be a header, is our
 *   typed error, never the library's or undici's.
 */
import { ModelImportError } from '../../../src/index.js';
import { certificateError, type HubFailure } from './hub-errors.js';
import type { ProxyEnv } from './proxy-env.js';
import { proxyFetch, type ProxyFetchInit } from './proxy-fetch.js';
import { ProxyError, proxyHint } from './proxy-tunnel.js';
import { TransientError, abortReason, asTransient, isRetryableStatus, retryAfterMs, sleep, RetryTracker, type RetryPolicy } from '../../../src/index.js';
import { rateLimitWaitMs } from './rate-limit.js';

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
/** An API answer (model info, one page of a file listing) larger than this is refused: real ones are < 1 MB. */
export const RATE_LIMITED = "the hub's rate limit is reached";
const COUNTDOWN_STEP_MS = 10_000;
export const API_BODY_MAX = 32 * 1024 * 1024;

export function createHubFetch(options: HubFetchOptions): typeof fetch {
  const origin = new URL(options.endpoint).origin;
  if (options.token !== undefined && !/^[\x21-\x7e]+$/.test(options.token)) {
    // fetch would throw "Cannot convert argument to a ByteString" from deep inside the library.
    throw new ModelImportError('TOKEN_INVALID', 'The Hugging Face token contains characters a token never has (spaces, control or non-ASCII characters).', {
      hint: 'Copy the token again from https://huggingface.co/settings/tokens (it starts with hf_), then pass it with --token or HF_TOKEN.',
    });
  }
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const start = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const tracker = new RetryTracker(options.retry);
    for (;;) {
      if (options.signal.aborted) throw abortReason(options.signal);
      try {
        const res = await fetchFollowing(start, init, options, origin);
        if (res.ok) return start.pathname.startsWith('/api/') ? await readApiAnswer(res, start) : res;
        const failure: HubFailure = {
          status: res.status,
          code: res.headers.get('x-error-code') ?? undefined,
          message: res.headers.get('x-error-message') ?? undefined,
        };
        await res.body?.cancel().catch(() => undefined);
        if (!isRetryableStatus(res.status)) throw options.onFailure(failure, start);
        const limited = rateLimitWaitMs(res.status, res.headers);
        if (limited !== undefined) {
          // A rate limit says exactly when to come back: wait for it if the budget allows, else stop now (not after
          // twenty retries that only extend the window).
          if (limited > options.retry.budgetMs - tracker.failingForMs()) throw rateLimited(start, limited);
          throw new TransientError(`${RATE_LIMITED} (${formatWait(limited)} to wait)`, limited, { cause: options.onFailure(failure, start) });
        }
        throw new TransientError(`the hub answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')), {
          cause: options.onFailure(failure, start),
        });
      } catch (error) {
        if (options.signal.aborted) throw abortReason(options.signal);
        const refused = certificateError(error, start.origin);
        if (refused) throw refused;
        const transient = asTransient(error);
        if (!transient) throw notHttp(error, start);
        const delay = tracker.failed(transient);
        if (delay === undefined) throw finalError(transient, start, tracker);
        if (transient.what.startsWith(RATE_LIMITED)) {
          // A visible countdown: one line now, then one every COUNTDOWN_STEP_MS while the window lasts.
          for (let left = delay; left > 0; left -= COUNTDOWN_STEP_MS) {
            options.onRetry?.(transient.what, left);
            await sleep(Math.min(left, COUNTDOWN_STEP_MS), options.signal);
          }
          continue;
        }
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
    const stallMs = options.stallMs ?? 30_000;
    const res = proxy
      ? await proxyFetch(current, { method, headers, body, signal, stallMs, userAgent: options.userAgent ?? 'model-import', tls: options.tls }, proxy)
      : await directFetch(current, { ...init, method, body, headers, signal, redirect: 'manual' }, stallMs);
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || !location) return res;
    await res.body?.cancel().catch(() => undefined);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw badRedirect(url, 'an unreadable address');
    }
    // file:, ftp:, data: ... are never followed: only the hub's http(s) and its CDN serve models.
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw badRedirect(url, `a ${next.protocol} address`);
    current = next;
    if (res.status === 303) {
      method = 'GET';
      body = undefined;
    }
  }
  throw new ModelImportError('NETWORK', `The hub redirected ${url.pathname} more than ${MAX_REDIRECTS} times.`, {
    hint: 'Check HF_ENDPOINT; a proxy or mirror may be misconfigured.',
  });
}

/**
 * Node's fetch with a clock: no answer head within stallMs, or then no body byte for stallMs, aborts the request
 * with a retryable stall (the proxied path has its own, in proxyFetch).
 */
async function directFetch(url: URL, init: RequestInit, stallMs: number): Promise<Response> {
  const clock = new AbortController();
  const seconds = stallMs >= 10_000 ? String(Math.round(stallMs / 1000)) : String(Math.round(stallMs / 100) / 10);
  const stalled = () => clock.abort(new TransientError(`no answer for ${seconds} s`));
  let timer = setTimeout(stalled, stallMs);
  const signal = init.signal ? AbortSignal.any([init.signal, clock.signal]) : clock.signal;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal });
  } catch (error) {
    clearTimeout(timer);
    throw clock.signal.aborted ? clock.signal.reason : error;
  }
  clearTimeout(timer);
  if (!res.body) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      timer = setTimeout(stalled, stallMs);
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(clock.signal.aborted ? clock.signal.reason : error);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
  const wrapped = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperty(wrapped, 'url', { value: res.url });
  return wrapped;
}

/** Reads an API answer whole (within the stall clock and the size cap) and hands the library a buffered copy. */
async function readApiAnswer(res: Response, url: URL): Promise<Response> {
  const bytes = await readCapped(res, API_BODY_MAX, `The hub's answer to ${url.pathname}`).catch((error: unknown) => {
    if (error instanceof ModelImportError) {
      throw new ModelImportError('NETWORK', `The hub's answer to ${url.pathname} is larger than ${API_BODY_MAX / 1024 / 1024} MiB; no real answer is.`, {
        hint: 'Check HF_ENDPOINT (a mirror or proxy may be misbehaving), then run the same command again.',
        cause: error,
      });
    }
    throw error;
  });
  const headers = new Headers(res.headers);
  headers.delete('content-encoding'); // already decoded
  headers.delete('content-length');
  const copy = new Response(new Uint8Array(bytes), { status: res.status, statusText: res.statusText, headers });
  Object.defineProperty(copy, 'url', { value: res.url || url.href });
  return copy;
}

function badRedirect(url: URL, what: string): ModelImportError {
  return new ModelImportError('NETWORK', `The hub redirected ${url.pathname} to ${what}; only http(s) redirects are followed.`, {
    hint: 'Check HF_ENDPOINT; a proxy or mirror may be misconfigured.',
  });
}

function notHttp(error: unknown, url: URL): unknown {
  if (error instanceof ModelImportError || (error as { name?: string })?.name === 'AbortError') return error;
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  const why = (error as { cause?: { message?: string } })?.cause?.message ?? (error as Error)?.message ?? String(error);
  return new ModelImportError('NETWORK', `The answer from ${url.origin} for ${url.pathname} is not valid HTTP (${code ?? why}).`, {
    hint: 'Check HF_ENDPOINT and any proxy in between; a server that is not the hub may be answering.',
    cause: error,
  });
}

function rateLimited(url: URL, waitMs: number): ModelImportError {
  return new ModelImportError('NETWORK', `The hub's rate limit is reached for ${url.pathname}: try again in ${formatWait(waitMs)}.`, {
    hint: `Wait ${formatWait(waitMs)} (or use a token with a higher quota: --token or HF_TOKEN), then run the same command again.`,
    details: { retryAfterMs: waitMs },
  });
}

export function formatWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
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
