/**
 * POST /api/models/{id}/paths-info/{rev} (reference §3.2): JSON {"paths": [...], "expand": bool} from JS, or a form
 * body (paths=a&paths=b&expand=false) from Python. Answers entries for the paths that exist, in request order.
 */
import { callerToken, visibleRepo } from './access.js';
import { errors, sendJson } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { resolveRevision } from './repo-model.js';
import { truthy } from './route-tree.js';
import { entryJson, lookupPath } from './tree-entry.js';

const MAX_BODY = 1024 * 1024;

async function readBody(ex: Exchange): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ex.req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY) throw errors.badRequest('Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(contentType: string, body: string): { paths: string[]; expand: boolean } {
  if (contentType.includes('application/json')) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw errors.badRequest('Invalid JSON body');
    }
    const { paths, expand } = (json ?? {}) as { paths?: unknown; expand?: unknown };
    const list = typeof paths === 'string' ? [paths] : paths;
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) throw errors.badRequest('"paths" must be an array of strings');
    return { paths: list, expand: expand === true || expand === 'true' };
  }
  const form = new URLSearchParams(body);
  return { paths: [...form.getAll('paths'), ...form.getAll('paths[]')], expand: truthy(form.get('expand')) };
}

export async function handlePathsInfo(ex: Exchange, state: HubState, repoId: string, revision: string): Promise<void> {
  if (ex.req.method !== 'POST') throw errors.methodNotAllowed();
  const body = await readBody(ex);
  const token = callerToken(ex, state);
  const model = visibleRepo(state, repoId, token);
  const snap = resolveRevision(model, revision);
  if (!snap) throw errors.revisionNotFound(revision);
  const { paths, expand } = parseBody(ex.req.headers['content-type'] ?? '', body);
  const seen = new Set<string>();
  const out = [];
  for (const raw of paths) {
    const path = raw.replace(/^\/+|\/+$/g, '');
    if (seen.has(path)) continue;
    seen.add(path);
    const item = lookupPath(snap, path);
    if (item) out.push(entryJson(item, snap, expand));
  }
  sendJson(ex.res, out, false);
}
