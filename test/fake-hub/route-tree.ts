/**
 * GET /api/models/{id}/tree/{rev}[/{path}]?recursive=&expand=&cursor= (reference §3.1). Public for gated repos.
 * Pages carry an absolute `Link: <url>; rel="next"` header, which is what both clients follow.
 */
import { callerToken, visibleRepo } from './access.js';
import { errors, sendJson } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { resolveRevision } from './repo-model.js';
import { entryJson, listDirectory, lookupPath } from './tree-entry.js';

export const truthy = (value: string | null) => value === 'true' || value === '1';

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function decodeCursor(cursor: string | null): number {
  if (cursor === null) return 0;
  try {
    const offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw errors.badRequest('Invalid cursor');
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export async function handleTree(ex: Exchange, state: HubState, repoId: string, revision: string, rawPath: string): Promise<void> {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw errors.methodNotAllowed();
  const token = callerToken(ex, state);
  const model = visibleRepo(state, repoId, token);
  const snap = resolveRevision(model, revision);
  if (!snap) throw errors.revisionNotFound(revision);
  const path = rawPath.replace(/^\/+|\/+$/g, '');
  const recursive = truthy(ex.url.searchParams.get('recursive'));
  const expand = truthy(ex.url.searchParams.get('expand'));

  let items = listDirectory(snap, path, recursive);
  if (!items) {
    const single = lookupPath(snap, path);
    if (!single) throw errors.entryNotFound(snap.commit);
    items = [single];
  }
  const offset = decodeCursor(ex.url.searchParams.get('cursor'));
  const page = items.slice(offset, offset + state.treePageSize).map((item) => entryJson(item, snap, expand));
  const extra: Record<string, string> = {};
  if (offset + state.treePageSize < items.length) {
    const next =
      `${state.url}/api/models/${repoId}/tree/${encodeURIComponent(revision)}${path ? `/${encodePath(path)}` : ''}` +
      `?recursive=${recursive}&expand=${expand}&cursor=${encodeCursor(offset + state.treePageSize)}`;
    extra.Link = `<${next}>; rel="next"`;
  }
  sendJson(ex.res, page, ex.isHead, extra);
}
