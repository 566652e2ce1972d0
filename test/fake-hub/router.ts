/**
 * Maps a URL path to a route (reference §1, "Routes a fake hub needs"). Segments are split on the raw path and then
 * decoded, so `refs%2Fpr%2F1` stays one revision and Python's `sub%2Fdir` tree paths still work.
 */
import { decodePath } from './request-log.js';
import { errors } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { handleAuthCheck, handleWhoAmI } from './route-auth.js';
import { handleModelInfo } from './route-model-info.js';
import { handlePathsInfo } from './route-paths-info.js';
import { handleResolve } from './route-resolve.js';
import { handleTree } from './route-tree.js';

const REPO_ACTIONS = new Set(['revision', 'tree', 'paths-info', 'auth-check', 'resolve', 'raw']);

/** Repo ids are 'org/name'; a one-part id ('gpt2') is accepted when it is a known repo or an action follows it. */
function splitRepo(state: HubState, segs: string[]): { repoId: string; rest: string[] } | undefined {
  if (segs.length === 0 || !segs[0]) return undefined;
  if (segs.length >= 2 && state.repos.has(`${segs[0]}/${segs[1]}`)) return { repoId: `${segs[0]}/${segs[1]}`, rest: segs.slice(2) };
  if (state.repos.has(segs[0]) || segs.length === 1 || REPO_ACTIONS.has(segs[1])) return { repoId: segs[0], rest: segs.slice(1) };
  return { repoId: `${segs[0]}/${segs[1]}`, rest: segs.slice(2) };
}

export async function route(ex: Exchange, state: HubState): Promise<void> {
  const segs = ex.url.pathname.split('/').slice(1).map(decodePath);
  if (segs[0] === 'api') {
    if (segs[1] === 'whoami-v2' && segs.length === 2) return handleWhoAmI(ex, state);
    if (segs[1] !== 'models') throw errors.notFound();
    const split = splitRepo(state, segs.slice(2));
    if (!split) throw errors.notFound();
    const { repoId, rest } = split;
    if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return handleModelInfo(ex, state, repoId, undefined);
    const [action, rev, ...tail] = rest;
    if (action === 'revision' && rev) return handleModelInfo(ex, state, repoId, [rev, ...tail].join('/'));
    if (action === 'tree' && rev) return handleTree(ex, state, repoId, rev, tail.join('/'));
    if (action === 'paths-info' && rev && tail.length === 0) return handlePathsInfo(ex, state, repoId, rev);
    if (action === 'auth-check' && rest.length === 1) return handleAuthCheck(ex, state, repoId);
    throw errors.notFound();
  }
  const split = splitRepo(state, segs);
  if (split) {
    const [action, rev, ...tail] = split.rest;
    if ((action === 'resolve' || action === 'raw') && rev && tail.length > 0 && tail.join('/') !== '') {
      return handleResolve(ex, state, split.repoId, action, rev, tail.join('/'));
    }
  }
  throw errors.notFound();
}
