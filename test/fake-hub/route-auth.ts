/**
 * GET /api/whoami-v2 (reference §4.1) and GET /api/models/{id}/auth-check (§4.2: 200, or 401/403 GatedRepo).
 */
import { createHash } from 'node:crypto';
import { callerToken, checkGate, visibleRepo } from './access.js';
import { HubError, errors, sendJson } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';

export const FAKE_USER_NAME = 'fake-user';

export async function handleWhoAmI(ex: Exchange, state: HubState): Promise<void> {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw errors.methodNotAllowed();
  const token = callerToken(ex, state);
  if (token === undefined) throw new HubError(401, 'Invalid username or password.');
  const id = createHash('sha1').update(`user ${token}`).digest('hex').slice(0, 24);
  const orgs = [...new Set([...state.repos.keys()].filter((r) => r.includes('/')).map((r) => r.split('/')[0]))].map((name) => ({
    id: createHash('sha1').update(`org ${name}`).digest('hex').slice(0, 24),
    type: 'org',
    name,
    fullname: name,
    email: null,
    canPay: false,
    avatarUrl: `/avatars/${name}.svg`,
    periodEnd: null,
  }));
  sendJson(
    ex.res,
    {
      type: 'user',
      id,
      name: FAKE_USER_NAME,
      fullname: 'Fake Hub User',
      email: 'fake-user@example.invalid',
      emailVerified: true,
      canPay: false,
      isPro: false,
      periodEnd: null,
      avatarUrl: '/avatars/fake-user.svg',
      billingMode: 'postpaid',
      orgs,
      auth: { type: 'access_token', accessToken: { displayName: 'fake-hub-token', role: 'read', createdAt: '2024-02-01T00:00:00.000Z' } },
    },
    ex.isHead,
  );
}

export async function handleAuthCheck(ex: Exchange, state: HubState, repoId: string): Promise<void> {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw errors.methodNotAllowed();
  const token = callerToken(ex, state);
  const model = visibleRepo(state, repoId, token);
  checkGate(model, token);
  sendJson(ex.res, {}, ex.isHead);
}
