/**
 * Hub answers -> the errors the user sees. X-Error-Code (reference §4.2) tells a gate from a missing repo; the
 * status alone decides when the header is absent. Hub-provided text never reaches the message (it is not ours to
 * vouch for), and no message ever contains a token: only the name of its source.
 */
import { ModelImportError, redactSecrets } from '../../../src/index.js';
import type { FoundToken } from './token-discovery.js';

export interface HubFailure {
  status: number;
  /** X-Error-Code */
  code?: string;
  /** X-Error-Message */
  message?: string;
}

export interface FailureContext {
  endpoint: string;
  repoId: string;
  revision: string;
  /** 'model info', 'file list', or a repo file path. */
  what: string;
  token?: FoundToken;
}

const SETTINGS_URL = 'https://huggingface.co/settings/tokens';

export function hubError(failure: HubFailure, ctx: FailureContext): ModelImportError {
  const { status, code } = failure;
  const { endpoint, repoId, revision, what, token } = ctx;
  const repoUrl = `${endpoint}/${repoId}`;
  const details = {
    status,
    errorCode: code ?? null,
    serverMessage: failure.message ? redactSecrets(failure.message, [token?.token]).slice(0, 300) : null,
    repoId,
  };
  const make = (c: ConstructorParameters<typeof ModelImportError>[0], message: string, hint: string) =>
    new ModelImportError(c, message, { hint, details });

  if (code === 'RevisionNotFound') {
    return make('REVISION_NOT_FOUND', `Revision ${JSON.stringify(revision)} was not found in ${repoId}.`, 'Pass --revision with an existing branch, tag or 40-hex commit (the default is main).');
  }
  if (code === 'EntryNotFound') {
    return make('FILE_NOT_FOUND', `${what} is missing from ${repoId} at ${revision}.`, 'The repository changed or lists a file it does not serve; report it to its owner.');
  }
  if (code === 'GatedRepo') {
    if (status === 403) return accessDenied(repoId, repoUrl, token, details);
    return token ? tokenInvalid(token, details) : tokenRequired(repoId, repoUrl, true);
  }
  // A 401 with a token and no code is the hub's "Invalid credentials in Authorization header".
  if (status === 401 && !code && token) return tokenInvalid(token, details);
  if (code === 'RepoNotFound' || status === 401 || (status === 404 && what === 'model info')) {
    return make(
      'REPO_NOT_FOUND',
      `Repository ${repoId} was not found on ${endpoint}.`,
      token
        ? `Check the id. If the repository is private, the token from ${token.source} has no access to it.`
        : 'Check the id. If the repository is private, pass --token or set HF_TOKEN.',
    );
  }
  if (status === 403) {
    if (failure.message === 'Access to this resource is disabled.') {
      return make('ACCESS_DENIED', `Repository ${repoId} is disabled on the hub.`, 'Nothing can be downloaded from a disabled repository; look for another copy of the model.');
    }
    return accessDenied(repoId, repoUrl, token, details);
  }
  if (status === 404) {
    return make('FILE_NOT_FOUND', `${what} is missing from ${repoId} at ${revision}.`, 'The repository changed or lists a file it does not serve; report it to its owner.');
  }
  return make('NETWORK', `The hub at ${endpoint} answered ${status} for ${what} of ${repoId}.`, 'Try again later; if it persists, check HF_ENDPOINT and the hub status page.');
}

export function tokenRequired(repoId: string, repoUrl: string, gated: boolean): ModelImportError {
  return new ModelImportError(
    'TOKEN_REQUIRED',
    `${repoId} is ${gated ? 'gated' : 'private'}: a Hugging Face token with access to it is needed.`,
    {
      hint: `Pass --token hf_... or set HF_TOKEN (or log in with \`hf auth login\`)${gated ? `, after accepting the terms at ${repoUrl}` : ''}.`,
      details: { repoId },
    },
  );
}

function tokenInvalid(token: FoundToken, details: Record<string, unknown>): ModelImportError {
  return new ModelImportError('TOKEN_INVALID', `The hub rejected the token from ${token.source} as invalid or revoked.`, {
    hint: `Create a new token (read access is enough) at ${SETTINGS_URL} and pass it with --token or HF_TOKEN.`,
    details,
  });
}

function accessDenied(repoId: string, repoUrl: string, token: FoundToken | undefined, details: Record<string, unknown>): ModelImportError {
  return new ModelImportError(
    'ACCESS_DENIED',
    `The token${token ? ` from ${token.source}` : ''} has no access to the gated repository ${repoId}.`,
    {
      hint: `Accept the terms at ${repoUrl} while logged in as the token's owner (approval may take a while), then run the same command again.`,
      details,
    },
  );
}

/**
 * A TLS failure (untrusted or expired certificate, wrong host name) will not heal by retrying; it usually means
 * a proxy or mirror with its own certificate authority.
 */
export function certificateError(error: unknown, origin: string): ModelImportError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = String((e as { code?: unknown }).code ?? '');
    // EPROTO: the handshake itself failed (e.g. a plain-HTTP server, or a proxy's tunnel, where TLS was expected).
    const handshake = code === 'EPROTO';
    if (handshake || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH/i.test(code)) {
      const what = handshake ? `The TLS handshake with ${origin} failed` : `The TLS certificate of ${origin} was refused`;
      return new ModelImportError('NETWORK', `${what} (${code}).`, {
        hint: 'If a proxy or mirror uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its certificate; otherwise check HF_ENDPOINT.',
        cause: error,
      });
    }
  }
  return undefined;
}
