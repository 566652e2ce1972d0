/**
 * Who may see what (reference §4.2): token validity, private and missing repos, gates. Each check throws the HubError
 * the real hub would answer with.
 */
import { errors } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import type { RepoModel } from './repo-model.js';

/** The bearer token, or undefined without an Authorization header. Throws 401 invalid credentials for a bad one. */
export function callerToken(ex: Exchange, state: HubState): string | undefined {
  const header = ex.req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const token = m?.[1];
  if (!token || !isValidToken(token, state)) throw errors.invalidToken();
  return token;
}

export function isValidToken(token: string, state: HubState): boolean {
  if (!token.startsWith('hf_')) return false;
  if (!state.validTokens) return true;
  if (state.validTokens.has(token)) return true;
  for (const model of state.repos.values()) if (model.repo.grantedTokens?.includes(token)) return true;
  return false;
}

const granted = (model: RepoModel, token: string | undefined) =>
  token !== undefined && (model.repo.grantedTokens ?? []).includes(token);

/** The repo if the caller may see it at all: missing and private repos look the same (401 anonymous, 404 with a token). */
export function visibleRepo(state: HubState, id: string, token: string | undefined): RepoModel {
  const model = state.repos.get(id);
  if (!model || (model.repo.private && !granted(model, token))) throw errors.repoNotFound(token !== undefined);
  if (model.repo.disabled) throw errors.disabled();
  return model;
}

/** Gates guard file content only: 401 without a token, 403 with a token that was not granted. */
export function checkGate(model: RepoModel, token: string | undefined): void {
  if (!model.repo.gated) return;
  if (token === undefined) throw errors.gatedNoToken(model.id);
  if (!granted(model, token)) throw errors.gatedNotGranted(model.id);
}
