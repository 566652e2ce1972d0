/** Credentials: flags over env over Docker's config.json (credHelpers, credsStore, auths base64), real helper binaries. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp.js';
import { findCredentials } from './credentials.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const b64 = (s: string) => Buffer.from(s).toString('base64');

it('reads auths[host].auth from $DOCKER_CONFIG/config.json, and flags and env win over it', async () => {
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'reg.example:5000': { auth: b64('alice:pa:ss') }, 'https://ghcr.io': { auth: b64('bob:tok') } } }));
  const env = { DOCKER_CONFIG: dir };
  expect(await findCredentials('reg.example:5000', {}, env)).toEqual({ username: 'alice', password: 'pa:ss', origin: path.join(dir, 'config.json') });
  expect((await findCredentials('ghcr.io', {}, env))?.username).toBe('bob');
  expect(await findCredentials('other.example', {}, env)).toBeUndefined();
  expect((await findCredentials('ghcr.io', {}, { ...env, MODEL_IMPORT_REGISTRY_USERNAME: 'e', MODEL_IMPORT_REGISTRY_PASSWORD: 'p' }))?.origin).toBe('MODEL_IMPORT_REGISTRY_PASSWORD');
  expect((await findCredentials('ghcr.io', { username: 'f', password: 'q' }, env))?.username).toBe('f');
});

it('asks docker-credential-<helper> get (credHelpers, then credsStore) with the host on stdin', async () => {
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin);
  const helper = path.join(bin, 'docker-credential-testhelper');
  // Answers only for reg.example, as a real helper does for hosts it knows.
  await fs.writeFile(helper, '#!/bin/sh\nread host\nif [ "$host" = reg.example ]; then echo \'{"ServerURL":"reg.example","Username":"helper-user","Secret":"helper-secret"}\'; else echo "credentials not found" >&2; exit 1; fi\n', { mode: 0o755 });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'reg.example': 'testhelper' }, credsStore: 'testhelper', auths: { 'other.example': { auth: b64('x:y') } } }));
  const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
  expect(await findCredentials('reg.example', {}, env)).toEqual({ username: 'helper-user', password: 'helper-secret', origin: 'docker-credential-testhelper' });
  // credsStore knows nothing of other.example: auths answers.
  expect((await findCredentials('other.example', {}, env))?.username).toBe('x');
});
