import { expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { formatReference, parseReference, registryBaseUrl } from './reference.js';

it('parses tags, digests and oci:// references as the distribution spec names them', () => {
  expect(parseReference('oci://ghcr.io/acme/qwen2.5-0.5b:v1')).toEqual({ registry: 'ghcr.io', repository: 'acme/qwen2.5-0.5b', tag: 'v1' });
  const digest = `sha256:${'a'.repeat(64)}`;
  expect(parseReference(`localhost:5000/m@${digest}`)).toEqual({ registry: 'localhost:5000', repository: 'm', digest });
  expect(parseReference('reg.example/a/b')).toEqual({ registry: 'reg.example', repository: 'a/b', tag: 'latest' });
  expect(formatReference(parseReference('127.0.0.1:5000/team/m:v2'))).toBe('127.0.0.1:5000/team/m:v2');
  for (const bad of ['noslash', 'reg.example/UPPER:v1', 'reg.example/a/../b:v1', `reg.example/a@sha256:${'z'.repeat(64)}`, 'reg.example/a:bad tag']) {
    const error = (() => {
      try {
        parseReference(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(isModelImportError(error) && error.exitCode, bad).toBe(2);
  }
  expect(() => parseReference('reg.example/a', { requireTag: true })).toThrow(/no :tag/);
});

it('speaks plain http only to loopback or a registry marked insecure', () => {
  expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
  expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
  expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
  expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
  expect(registryBaseUrl('10.0.0.5:5000')).toBe('https://10.0.0.5:5000');
  expect(registryBaseUrl('10.0.0.5:5000', true)).toBe('http://10.0.0.5:5000');
  expect(registryBaseUrl('10.0.0.5:5000', ['10.0.0.5:5000'])).toBe('http://10.0.0.5:5000');
  expect(registryBaseUrl('10.0.0.6:5000', ['10.0.0.5:5000'])).toBe('https://10.0.0.6:5000');
});
