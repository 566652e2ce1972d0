/**
 * A small OCI distribution client (distribution spec v1.1): authentication (Basic, and the Bearer token flow
 * driven by WWW-Authenticate), retries on 5xx / 429 / dropped connections within the same time budget as the
 * hub source, and the few endpoints model-import needs. Credentials stay in this object's memory.
 */
import { ModelImportError, redactSecrets } from '../../../src/index.js';
import { RetryTracker, TransientError, asTransient, isRetryableStatus, retryAfterMs, sleep, type RetryPolicy } from '../../../src/index.js';
import { parseChallenge } from './auth-challenge.js';
import type { Credentials } from './credentials.js';
import { isLoopback, type OciReference } from './reference.js';
import { registryError } from './registry-errors.js';

/** The hub source's budgets (plugins/source-huggingface/src/options.ts DEFAULTS): 2 min without progress. */
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 120_000, baseDelayMs: 500, maxDelayMs: 10_000 };

export interface RegistryClientOptions {
  ref: OciReference;
  baseUrl: string;
  credentials?: Credentials;
  retry?: RetryPolicy;
  signal: AbortSignal;
  /** What the requests need: 'pull', or 'pull,push'. */
  actions: string;
}

export interface RequestInit2 {
  headers?: Record<string, string>;
  /** Re-sent as is on a retry (a file streamed from disk goes through stream-upload.ts). */
  body?: Buffer | Uint8Array | string;
  /** Statuses the caller handles itself (everything else not 2xx becomes an error). */
  accept?: number[];
  /** For messages: "the manifest", "blob sha256:…". */
  what: string;
  redirect?: 'follow' | 'manual';
  /** Stops this request only (one range of a blob whose other range failed); the client's signal stops all. */
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly ref: OciReference;
  readonly baseUrl: string;
  private readonly credentials?: Credentials;
  private readonly retry: RetryPolicy;
  private readonly signal: AbortSignal;
  private readonly actions: string;
  private authorization?: string;
  private readonly origin: string;
  /** Requests answered, for tests and the summary (e.g. "0 blobs uploaded"). */
  readonly counts = { requests: 0, retries: 0 };

  constructor(options: RegistryClientOptions) {
    this.ref = options.ref;
    this.baseUrl = options.baseUrl;
    this.origin = new URL(options.baseUrl).origin;
    this.credentials = options.credentials;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.signal = options.signal;
    this.actions = options.actions;
  }

  repoUrl(suffix: string): string {
    return `${this.baseUrl}/v2/${this.ref.repository}/${suffix}`;
  }

  /** A Location header may be relative (distribution spec); resolve it against the registry. */
  resolveLocation(location: string | null, what: string): string {
    if (!location) throw new ModelImportError('NETWORK', `${this.ref.registry} sent no upload location for ${what}.`, { hint: 'The registry does not follow the distribution spec; report it.' });
    const url = new URL(location, this.baseUrl);
    const base = new URL(this.baseUrl);
    // An https registry must not send the upload (and our credentials) elsewhere in the clear.
    if (base.protocol === 'https:' && url.protocol !== 'https:') {
      throw new ModelImportError('NETWORK', `${this.ref.registry} sent an http:// upload location for ${what}; refused.`, { hint: 'Fix the registry\'s URL configuration.' });
    }
    return url.href;
  }

  /** One request with authentication and retries. Bodies are buffers, so every attempt re-sends the same bytes. */
  async request(method: string, url: string, init: RequestInit2): Promise<Response> {
    const tracker = new RetryTracker(this.retry);
    const signal = init.signal ? AbortSignal.any([this.signal, init.signal]) : this.signal;
    let authTried = false;
    for (;;) {
      signal.throwIfAborted();
      let response: Response;
      // Credentials go to the registry's own origin only, never to another host an upload Location names (the
      // credential leak of oras-go GHSA-jxpm-75mh-9fp7); fetch itself drops them on a cross-origin redirect.
      try {
        response = await fetch(url, {
          method,
          headers: { ...this.authFor(url), ...init.headers },
          body: init.body as never,
          redirect: init.redirect ?? 'follow',
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        const transient = asTransient(error);
        if (!transient) throw error;
        await this.wait(tracker, transient, init.what);
        continue;
      }
      this.counts.requests++;
      if (response.status === 401 && !init.accept?.includes(401)) {
        await response.body?.cancel().catch(() => {});
        if (authTried) throw this.refused(init.what);
        authTried = true;
        await this.authenticate(response.headers.get('www-authenticate'), init.what);
        continue;
      }
      if (isRetryableStatus(response.status) && !init.accept?.includes(response.status)) {
        await response.body?.cancel().catch(() => {});
        await this.wait(tracker, new TransientError(`${this.ref.registry} answered ${response.status}`, retryAfterMs(response.headers.get('retry-after'))), init.what);
        continue;
      }
      if (!response.ok && !init.accept?.includes(response.status)) throw await registryError(response, `${method} ${init.what}`, this.ref.registry);
      return response;
    }
  }

  /** The Authorization header for a request to `url`: only for the registry's own origin. */
  authFor(url: string): Record<string, string> {
    return this.authorization && new URL(url).origin === this.origin ? { authorization: this.authorization } : {};
  }

  /** After a 401 outside request(): answers the challenge (or throws the clear 401 error). */
  async answerChallenge(header: string | null, what: string, alreadyTried: boolean): Promise<void> {
    if (alreadyTried) throw this.refused(what);
    await this.authenticate(header, what);
  }

  private async wait(tracker: RetryTracker, error: TransientError, what: string): Promise<void> {
    const delay = tracker.failed(error);
    if (delay === undefined) {
      throw new ModelImportError('NETWORK', `${what}: ${error.what}, and it kept failing for ${Math.round(tracker.failingForMs() / 1000)} s (${tracker.attempts} attempts).`, {
        hint: `Check that ${this.ref.registry} is reachable, then run the same command again: finished blobs are not transferred again.`,
        cause: error,
      });
    }
    this.counts.retries++;
    await sleep(delay, this.signal);
  }

  private refused(what: string): ModelImportError {
    if (!this.credentials) {
      return new ModelImportError('TOKEN_REQUIRED', `${this.ref.registry} asks for credentials (401) for ${what}, and none were found.`, {
        hint: `Pass --username and --password (or MODEL_IMPORT_REGISTRY_USERNAME / MODEL_IMPORT_REGISTRY_PASSWORD), or run docker login ${this.ref.registry}.`,
      });
    }
    return new ModelImportError('TOKEN_INVALID', `${this.ref.registry} refused the credentials from ${this.credentials.origin} (401) for ${what}.`, {
      hint: `Check the user name and password for ${this.ref.registry}, and that the account may ${this.actions.replace(',', ' and ')} ${this.ref.repository}.`,
    });
  }

  private basic(): string | undefined {
    if (!this.credentials) return undefined;
    return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
  }

  private async authenticate(header: string | null, what: string): Promise<void> {
    const challenge = parseChallenge(header);
    if (!challenge || challenge.scheme === 'basic') {
      const basic = this.basic();
      if (!basic) throw this.refused(what);
      this.authorization = basic;
      return;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) throw this.refused(what);
    const realm = new URL(challenge.params.realm);
    // Credentials go to the token service only over TLS (or on this machine).
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.host))) {
      throw new ModelImportError('NETWORK', `${this.ref.registry} names a token service over plain http (${realm.host}); refused.`, {
        hint: 'A token service must use https.',
      });
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.ref.repository}:${this.actions}`);
    const basic = this.basic();
    let response: Response;
    try {
      response = await fetch(realm, { headers: basic ? { authorization: basic } : {}, signal: this.signal });
    } catch (error) {
      throw new ModelImportError('NETWORK', `The token service of ${this.ref.registry} (${realm.host}) could not be reached.`, { cause: error, hint: 'Check the network, then try again.' });
    }
    if (response.status === 401 || response.status === 403) throw this.refused(what);
    if (!response.ok) throw await registryError(response, 'the token request', realm.host);
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new ModelImportError('NETWORK', `The token service of ${this.ref.registry} answered without a token.`, { hint: 'Report it to the registry\'s operator.' });
    this.authorization = `Bearer ${token}`;
  }

  /** Secrets to strip from any text that might reach the user. */
  secrets(): string[] {
    const out = [this.credentials?.password, this.authorization?.split(' ')[1]].filter((s): s is string => Boolean(s));
    return out;
  }

  redact(text: string): string {
    return redactSecrets(text, this.secrets());
  }
}
