/**
 * Talking to one repo: the fetch for the hub library with our errors, the URL of a file pinned to a commit,
 * the token a gated or private repo needs (asked for only when nothing else gives one), and the access probe.
 */
import { isModelImportError, ModelImportError, type StageContext } from '../../../src/index.js';
import { hubError, tokenRequired } from './hub-errors.js';
import { RATE_LIMITED, createHubFetch, fetchSmall, formatWait } from './hub-fetch.js';
import { NAME } from './names.js';
import type { EffectiveSettings } from './options.js';
import { ProxyEnv } from './proxy-env.js';
import { explicitToken, implicitToken, type FoundToken } from './token-discovery.js';

export interface RepoRef {
  endpoint: string;
  repoId: string;
  /** What the user asked for (for messages) */
  revision: string;
}

/** `${endpoint}/${repo}/resolve/${commit}/${path}`, each path segment percent-encoded. */
export function resolveUrl(ref: RepoRef, commit: string, filePath: string): string {
  return `${ref.endpoint}/${ref.repoId}/resolve/${encodeURIComponent(commit)}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
}

export function hubFetchFor(ref: RepoRef, what: string, token: FoundToken | undefined, context: StageContext, settings: EffectiveSettings): typeof fetch {
  let warned = false;
  return createHubFetch({
    endpoint: ref.endpoint,
    token: token?.token,
    signal: context.signal,
    retry: settings.retry,
    proxies: new ProxyEnv(context.env),
    stallMs: settings.stallTimeoutMs,
    userAgent: settings.userAgent,
    onFailure: (failure) => hubError(failure, { ...ref, what, token }),
    onRetry: (why, delay) => {
      if (why.startsWith(RATE_LIMITED)) {
        // A rate-limit wait is long: every reminder is shown, a countdown of what is left.
        context.reporter.warn(`Reading ${what} of ${ref.repoId}: ${why}; waiting, ${formatWait(delay)} left.`, NAME);
        return;
      }
      if (warned) return;
      warned = true;
      context.reporter.warn(`Reading ${what} of ${ref.repoId}: ${why}; retrying in ${(delay / 1000).toFixed(1)} s.`, NAME);
    },
  });
}

/**
 * The token for a repo that needs one: --token or the plugin option, else the environment or token file, else
 * (with a terminal) a hidden prompt. Without any: TOKEN_REQUIRED naming --token and HF_TOKEN.
 */
export async function requireToken(ref: RepoRef, context: StageContext, optionToken: string | undefined, gated: boolean): Promise<FoundToken> {
  const found = explicitToken(context.options.token, optionToken) ?? (await implicitToken(context.env));
  if (found) return found;
  const repoUrl = `${ref.endpoint}/${ref.repoId}`;
  if (!context.prompter.interactive) throw tokenRequired(ref.repoId, repoUrl, gated);
  const answer = await context.prompter.secret({
    message: `${ref.repoId} is ${gated ? 'gated' : 'private'}. Paste a Hugging Face access token (input hidden)`,
    flag: '--token',
  });
  const typed = explicitToken(answer, undefined);
  if (!typed) throw tokenRequired(ref.repoId, repoUrl, gated);
  return { ...typed, source: 'the prompt' };
}

/** Tries a token typed at the prompt gets: a typo or a stale clipboard should not end the import at once. */
const PROMPT_ATTEMPTS = 3;

/**
 * The token for a gated or private repo, checked against the hub: the one given, found or typed (see
 * requireToken). One typed at the prompt that the hub rejects is asked for again, up to PROMPT_ATTEMPTS times;
 * the last refusal is the error (its hint names --token and HF_TOKEN).
 */
export async function tokenWithAccess(
  ref: RepoRef,
  commit: string,
  known: FoundToken | undefined,
  context: StageContext,
  settings: EffectiveSettings,
  options: { optionToken: string | undefined; gated: boolean; probePath?: string },
): Promise<FoundToken> {
  let token = known ?? (await requireToken(ref, context, options.optionToken, options.gated));
  for (let attempt = 1; ; attempt++) {
    try {
      await probeAccess(ref, commit, token, context, settings, options.probePath);
      return token;
    } catch (error) {
      const typed = token.source === 'the prompt';
      if (!typed || attempt >= PROMPT_ATTEMPTS || !isModelImportError(error) || error.code !== 'TOKEN_INVALID') throw error;
      context.reporter.warn(`The hub rejected that token as invalid (try ${attempt} of ${PROMPT_ATTEMPTS}).`, NAME);
      token = await requireToken(ref, context, options.optionToken, options.gated);
    }
  }
}

/**
 * Can this token read file content? A one-byte ranged GET of config.json: the hub gates content, not metadata,
 * so this is exactly the check that matters, and it works on mirrors that lack /auth-check. 401/403 are never
 * retried: they become TOKEN_REQUIRED / TOKEN_INVALID / ACCESS_DENIED / REPO_NOT_FOUND.
 */
export async function probeAccess(ref: RepoRef, commit: string, token: FoundToken | undefined, context: StageContext, settings: EffectiveSettings, probePath = 'config.json'): Promise<void> {
  const hubFetch = hubFetchFor(ref, probePath, token, context, settings);
  const res = await hubFetch(resolveUrl(ref, commit, probePath), { headers: { range: 'bytes=0-0' } });
  await res.body?.cancel().catch(() => undefined);
}

/** The first bytes of a small repo file (a LICENSE), and whether the cap cut it. */
export async function readPrefix(
  ref: RepoRef,
  commit: string,
  filePath: string,
  size: number,
  maxBytes: number,
  token: FoundToken | undefined,
  context: StageContext,
  settings: EffectiveSettings,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  const want = Math.min(size, maxBytes);
  if (want === 0) return { bytes: Buffer.alloc(0), truncated: false };
  const bytes = await fetchSmall(hubFetchFor(ref, filePath, token, context, settings), resolveUrl(ref, commit, filePath), {
    max: want,
    what: filePath,
    range: `bytes=0-${want - 1}`,
    retry: settings.retry,
    signal: context.signal,
    truncate: true,
  });
  return { bytes, truncated: size > bytes.byteLength };
}

export function badListing(repoId: string, why: string): ModelImportError {
  return new ModelImportError('BAD_INPUT', `The hub's file listing of ${repoId} is malformed: ${why}.`, {
    hint: 'Nothing was downloaded. Check HF_ENDPOINT points at a real hub or mirror, or report it to the repository owner.',
  });
}
