import { describe, expect, it } from 'vitest';
import { RetryTracker, TransientError, asTransient, backoffDelay, retryAfterMs } from './retry-policy.js';

const policy = { budgetMs: 1000, baseDelayMs: 100, maxDelayMs: 400 };

describe('retry policy', () => {
  it('backoff doubles with jitter in [ceiling/2, ceiling], capped', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(2, policy, () => 1)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(400);
  });

  it('gives up once failing without progress outlasts the budget; progress resets the clock', () => {
    let now = 0;
    const t = new RetryTracker(policy, () => now);
    const e = new TransientError('x');
    expect(t.failed(e)).toBeDefined();
    now = 950;
    expect(t.remainingMs()).toBe(50);
    expect(t.failed(e)).toBeUndefined(); // 950 + a delay of at least 100 > 1000
    t.progressed();
    expect(t.remainingMs()).toBe(Infinity);
    expect(t.failed(e)).toBeDefined();
    expect(t.attempts).toBe(3);
  });

  it('recognises network errors, also wrapped by fetch, but not aborts', () => {
    expect(asTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' }))?.what).toBe('the connection was reset');
    expect(asTransient(new TypeError('fetch failed', { cause: Object.assign(new Error('y'), { code: 'ECONNREFUSED' }) }))?.what).toBe('the connection was refused');
    expect(asTransient(new TypeError('terminated'))?.what).toBe('the connection dropped');
    expect(asTransient(new DOMException('aborted', 'AbortError'))).toBeUndefined();
    expect(asTransient(new Error('ENOSPC: no space'))).toBeUndefined();
  });

  it('Retry-After in seconds or as a date, capped', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('999')).toBe(30_000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
