/**
 * The §4.2 error matrix on the wire: X-Error-Code + X-Error-Message headers and a JSON {error} body, gates on file
 * content only, private and missing repos indistinguishable, invalid tokens rejected everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_CREDENTIALS } from './http-error.js';
import { handMadeRepo } from './hand-made-repo.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const GATED = 'test-org/gated';
const PRIVATE = 'test-org/private';
const PUBLIC = 'test-org/public';
const DISABLED = 'test-org/disabled';
const GRANTED = 'hf_granted_token_123456';
const DENIED = 'hf_denied_token_123456';
const VALID = 'hf_valid_token_123456';
let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({
    validTokens: [VALID, DENIED],
    repos: [
      handMadeRepo(PUBLIC),
      handMadeRepo(GATED, { gated: 'manual', grantedTokens: [GRANTED] }),
      handMadeRepo(PRIVATE, { private: true, grantedTokens: [GRANTED] }),
      handMadeRepo(DISABLED, { disabled: true }),
    ],
  });
});
afterAll(() => hub.close());

interface Seen {
  status: number;
  code: string | null;
  message: string | null;
  body: unknown;
}

async function call(path: string, token?: string, init: RequestInit = {}): Promise<Seen> {
  const headers = { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) };
  const res = await fetch(`${hub.url}${path}`, { ...init, headers });
  const text = await res.text();
  if (res.status >= 400) expect(res.headers.get('content-type')).toContain('application/json');
  return { status: res.status, code: res.headers.get('x-error-code'), message: res.headers.get('x-error-message'), body: text ? JSON.parse(text) : undefined };
}

const file = (repo: string) => `/${repo}/resolve/main/config.json`;
const tree = (repo: string) => `/api/models/${repo}/tree/main`;
const info = (repo: string) => `/api/models/${repo}`;
const pathsInfo = (repo: string, token?: string) =>
  call(`/api/models/${repo}/paths-info/main`, token, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"paths":["config.json"]}' });

describe('gated repo', () => {
  it('metadata, tree and paths-info are public', async () => {
    expect((await call(info(GATED))).status).toBe(200);
    expect((await call(tree(GATED))).status).toBe(200);
    expect((await pathsInfo(GATED)).status).toBe(200);
    expect(((await call(info(GATED))).body as { gated: string }).gated).toBe('manual');
  });

  it('content: 401 GatedRepo without a token, 403 GatedRepo when not granted, 200 when granted', async () => {
    const anon = await call(file(GATED));
    expect(anon).toMatchObject({ status: 401, code: 'GatedRepo' });
    expect(anon.message).toBe(`Access to model ${GATED} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    expect(anon.body).toEqual({ error: anon.message });
    const denied = await call(file(GATED), DENIED);
    expect(denied).toMatchObject({ status: 403, code: 'GatedRepo' });
    expect(denied.message).toContain('not in the authorized list');
    expect((await call(file(GATED), GRANTED)).status).toBe(200);
  });

  it('auth-check: 401 / 403 GatedRepo / 200', async () => {
    const path = `/api/models/${GATED}/auth-check`;
    expect(await call(path)).toMatchObject({ status: 401, code: 'GatedRepo' });
    expect(await call(path, DENIED)).toMatchObject({ status: 403, code: 'GatedRepo' });
    expect((await call(path, GRANTED)).status).toBe(200);
    expect((await call(`/api/models/${PUBLIC}/auth-check`)).status).toBe(200);
  });

  it('HEAD errors carry the headers (all Python has) and no body', async () => {
    const res = await fetch(`${hub.url}${file(GATED)}`, { method: 'HEAD' });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-error-code')).toBe('GatedRepo');
    expect(res.headers.get('x-error-message')).toContain('restricted');
    expect(await res.text()).toBe('');
  });
});

describe('private and missing repos', () => {
  it.each([PRIVATE, 'test-org/does-not-exist'])('%s: 401 RepoNotFound anonymous, 404 with a valid token, everywhere', async (repo) => {
    for (const path of [info(repo), tree(repo), file(repo), `/api/models/${repo}/auth-check`]) {
      const anon = await call(path);
      expect(anon, path).toMatchObject({ status: 401, code: 'RepoNotFound', message: 'Invalid username or password.' });
      expect(anon.body).toEqual({ error: 'Invalid username or password.' });
      expect(await call(path, VALID), path).toMatchObject({ status: 404, code: 'RepoNotFound' });
    }
    expect(await pathsInfo(repo)).toMatchObject({ status: 401, code: 'RepoNotFound' });
  });

  it('a granted token reads a private repo', async () => {
    for (const path of [info(PRIVATE), tree(PRIVATE), file(PRIVATE)]) expect((await call(path, GRANTED)).status, path).toBe(200);
    expect((await pathsInfo(PRIVATE, GRANTED)).status).toBe(200);
  });
});

describe('tokens', () => {
  it.each([
    ['not in validTokens', 'hf_unknown_token_1'],
    ['without the hf_ prefix', 'abc_token'],
  ])('a token %s gets 401 invalid credentials on every route, public ones included', async (_, token) => {
    for (const path of [info(PUBLIC), tree(PUBLIC), file(PUBLIC), '/api/whoami-v2']) {
      const seen = await call(path, token);
      expect(seen, path).toMatchObject({ status: 401, message: INVALID_CREDENTIALS, body: { error: INVALID_CREDENTIALS } });
    }
  });

  it('whoami-v2: 401 without a token, a user for a valid one', async () => {
    expect((await call('/api/whoami-v2')).status).toBe(401);
    expect(await call('/api/whoami-v2', VALID)).toMatchObject({ status: 200, body: { type: 'user', name: 'fake-user' } });
  });
});

describe('other errors', () => {
  it('unknown revision: 404 RevisionNotFound on info, tree, paths-info and resolve', async () => {
    for (const path of [`/api/models/${PUBLIC}/revision/nope`, `/api/models/${PUBLIC}/tree/nope`, `/${PUBLIC}/resolve/nope/config.json`]) {
      expect(await call(path), path).toMatchObject({ status: 404, code: 'RevisionNotFound' });
    }
    const res = await call(`/api/models/${PUBLIC}/paths-info/nope`, undefined, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"paths":[]}' });
    expect(res).toMatchObject({ status: 404, code: 'RevisionNotFound' });
  });

  it('disabled repo: 403 "Access to this resource is disabled."', async () => {
    expect(await call(info(DISABLED))).toMatchObject({ status: 403, message: 'Access to this resource is disabled.' });
  });

  it('unknown routes: 404 JSON; wrong method: 405', async () => {
    expect((await call('/api/spaces/x/y')).status).toBe(404);
    expect((await call(`/api/models/${PUBLIC}/nonsense`)).status).toBe(404);
    expect((await call(`/${PUBLIC}/resolve/main/config.json`, undefined, { method: 'DELETE' })).status).toBe(405);
  });
});
