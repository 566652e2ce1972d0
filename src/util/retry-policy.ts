/**
 * When to retry a request and how long to wait. Retries are bounded by a budget of time without progress, so a hub
 * that has gone away ends the import within retryBudgetMs, while a slow but working hub never does.
 */

export interface RetryPolicy {
  /** Give up once a request has failed for this long without any progress in between. */
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A failure worth another attempt (5xx, 429, resets, drops, stalls). `what` is a short human description. */
export class TransientError extends Error {
  constructor(
    readonly what: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(what, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const DESCRIPTIONS: Record<string, string> = {
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name could not be resolved',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'the connection timed out',
  ENETUNREACH: 'the network is unreachable',
  EHOSTUNREACH: 'the host is unreachable',
};

/** Node's network errors, possibly wrapped by fetch as `TypeError: fetch failed` with a cause. */
export function asTransient(error: unknown): TransientError | undefined {
  if (error instanceof TransientError) return error;
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: string }).code;
    const message = (e as { message?: string }).message ?? '';
    if (code && TRANSIENT_CODES.has(code)) return new TransientError(DESCRIPTIONS[code] ?? `network error ${code}`, undefined, { cause: error });
    if (/socket hang up|terminated|other side closed|aborted|premature close/i.test(message) && (e as { name?: string }).name !== 'AbortError') {
      return new TransientError('the connection dropped', undefined, { cause: error });
    }
  }
  return undefined;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Retry-After in seconds or as an HTTP date, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, capMs = 30_000): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, capMs) : undefined;
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries from many connections spread out. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * Tracks one request's failures: `failed()` says how long to wait before the next attempt, or undefined when the
 * budget is spent. `progressed()` resets the streak (bytes arrived, so the hub is alive).
 */
export class RetryTracker {
  private failingSince: number | undefined;
  private attempt = 0;
  attempts = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  progressed(): void {
    this.failingSince = undefined;
    this.attempt = 0;
  }

  failed(error: TransientError): number | undefined {
    this.attempts++;
    const now = this.now();
    this.failingSince ??= now;
    const delay = Math.max(backoffDelay(this.attempt++, this.policy), error.retryAfterMs ?? 0);
    if (now + delay - this.failingSince > this.policy.budgetMs) return undefined;
    return delay;
  }

  /** Time left before the budget runs out, while failing (used to cap a stall timer); Infinity while healthy. */
  remainingMs(): number {
    return this.failingSince === undefined ? Infinity : Math.max(0, this.failingSince + this.policy.budgetMs - this.now());
  }

  failingForMs(): number {
    return this.failingSince === undefined ? 0 : this.now() - this.failingSince;
  }
}
