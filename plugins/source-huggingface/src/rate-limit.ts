/**
 * How long a rate-limited hub asks us to wait. The hub sends the IETF draft header `RateLimit: "api";r=0;t=150`
 * (r: requests left in the window, t: seconds until it resets; huggingface_hub >= 1.2 reads it and waits the window
 * out) and sometimes Retry-After (seconds or an HTTP date). Undefined when the answer says nothing usable.
 */
const MAX_WAIT_MS = 24 * 3600_000;

export function rateLimitWaitMs(status: number, headers: Headers): number | undefined {
  if (status !== 429 && status !== 503) return undefined;
  const candidates: number[] = [];
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter.trim());
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) candidates.push(ms);
  }
  const limit = status === 429 ? headers.get('ratelimit') : null;
  if (limit) {
    // Items separated by commas; parameters by semicolons. Only an exhausted window (r=0) asks for a wait.
    for (const item of limit.slice(0, 1000).split(',')) {
      const params = new Map(
        item
          .split(';')
          .slice(1)
          .map((p) => p.split('=').map((x) => x.trim()) as [string, string]),
      );
      const remaining = Number(params.get('r'));
      const reset = Number(params.get('t'));
      if (remaining === 0 && Number.isFinite(reset) && reset >= 0) candidates.push(reset * 1000);
    }
  }
  if (candidates.length === 0) return undefined;
  return Math.min(Math.max(...candidates), MAX_WAIT_MS);
}
