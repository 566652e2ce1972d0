/**
 * GET/HEAD /{id}/resolve/{rev}/{path} and /{id}/raw/{rev}/{path} (reference §3.3). LFS files are served directly
 * (mode A): 200/206 with ETag and X-Linked-Etag = "<sha256>" and X-Linked-Size. /raw of an LFS file serves the pointer
 * blob, as the real hub does. Gates apply here.
 */
import { callerToken, checkGate, visibleRepo } from './access.js';
import { errors } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import { parseRange } from './range.js';
import { resolveRevision } from './repo-model.js';
import { sendContent } from './send-content.js';

export async function handleResolve(
  ex: Exchange,
  state: HubState,
  repoId: string,
  kind: 'resolve' | 'raw',
  revision: string,
  filePath: string,
): Promise<void> {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw errors.methodNotAllowed();
  const token = callerToken(ex, state);
  const model = visibleRepo(state, repoId, token);
  checkGate(model, token);
  const snap = resolveRevision(model, revision);
  if (!snap) throw errors.revisionNotFound(revision);
  const file = snap.files.get(filePath);
  if (!file) throw errors.entryNotFound(snap.commit);

  const headers: Record<string, string> = { 'X-Repo-Commit': snap.commit };
  if (kind === 'raw' && file.lfs && file.pointer) {
    const pointer = file.pointer;
    headers.ETag = `"${file.oid}"`;
    await sendContent(ex, state, {
      repoId,
      size: pointer.byteLength,
      read: (s, e) => pointer.subarray(s, e),
      headers,
      countsAsWeight: false,
      range: parseRange(ex.req.headers.range, pointer.byteLength),
    });
    return;
  }
  if (file.lfs) {
    headers.ETag = `"${file.lfs.oid}"`;
    headers['X-Linked-Etag'] = `"${file.lfs.oid}"`;
    headers['X-Linked-Size'] = String(file.size);
  } else {
    headers.ETag = `"${file.oid}"`;
  }
  await sendContent(ex, state, {
    repoId,
    size: file.size,
    read: file.read,
    headers,
    countsAsWeight: file.isWeight,
    range: parseRange(ex.req.headers.range, file.size),
  });
}
