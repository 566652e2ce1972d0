/**
 * GET /api/models/{id} and /api/models/{id}/revision/{rev} (reference §2). Public for gated repos; HEAD and main give
 * the main commit; a branch or a 40-hex commit of a branch gives that snapshot.
 */
import { callerToken, visibleRepo } from './access.js';
import { errors, sendJson } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { fullModelInfo, shapeModelInfo } from './model-info.js';
import { resolveRevision } from './repo-model.js';

export async function handleModelInfo(ex: Exchange, state: HubState, repoId: string, revision: string | undefined): Promise<void> {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw errors.methodNotAllowed();
  const token = callerToken(ex, state);
  const model = visibleRepo(state, repoId, token);
  const snap = revision === undefined ? model.main : resolveRevision(model, revision);
  if (!snap) throw errors.revisionNotFound(revision!);
  sendJson(ex.res, shapeModelInfo(await fullModelInfo(model, snap), ex.url.searchParams), ex.isHead);
}
