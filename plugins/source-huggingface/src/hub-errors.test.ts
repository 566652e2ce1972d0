import { describe, expect, it } from 'vitest';
import { hubError } from './hub-errors.js';

const ctx = { endpoint: 'https://hub.example', repoId: 'o/r', revision: 'main', what: 'config.json' };
const token = { token: 'hf_secret_value_1', source: 'HF_TOKEN', explicit: false };

describe('hubError', () => {
  it.each([
    [401, 'GatedRepo', false, 'TOKEN_REQUIRED'],
    [401, 'GatedRepo', true, 'TOKEN_INVALID'],
    [403, 'GatedRepo', true, 'ACCESS_DENIED'],
    [401, undefined, true, 'TOKEN_INVALID'],
    [401, 'RepoNotFound', false, 'REPO_NOT_FOUND'],
    [404, 'RepoNotFound', true, 'REPO_NOT_FOUND'],
    [401, undefined, false, 'REPO_NOT_FOUND'],
    [404, 'RevisionNotFound', false, 'REVISION_NOT_FOUND'],
    [404, 'EntryNotFound', false, 'FILE_NOT_FOUND'],
    [404, undefined, false, 'FILE_NOT_FOUND'],
    [403, undefined, true, 'ACCESS_DENIED'],
    [416, undefined, false, 'NETWORK'],
  ] as const)('%i %s (token: %s) -> %s', (status, code, withToken, expected) => {
    const error = hubError({ status, code, message: `server says hf_secret_value_1` }, { ...ctx, token: withToken ? token : undefined });
    expect(error.code).toBe(expected);
    expect(`${error.message} ${error.hint} ${JSON.stringify(error.details)}`).not.toContain('hf_secret_value_1');
  });

  it('ACCESS_DENIED points at the page where the terms are accepted; TOKEN_REQUIRED names --token and HF_TOKEN', () => {
    expect(hubError({ status: 403, code: 'GatedRepo' }, { ...ctx, token }).hint).toContain('https://hub.example/o/r');
    const required = hubError({ status: 401, code: 'GatedRepo' }, ctx);
    expect(required.hint).toMatch(/--token.*HF_TOKEN.*https:\/\/hub\.example\/o\/r/);
  });

  it('a 404 without a code on model info is a missing repo; a disabled repo says so', () => {
    expect(hubError({ status: 404 }, { ...ctx, what: 'model info' }).code).toBe('REPO_NOT_FOUND');
    expect(hubError({ status: 403, message: 'Access to this resource is disabled.' }, ctx).message).toContain('disabled');
  });
});
