import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { explicitToken, implicitToken, implicitTokenDisabled, tokenFilePath } from './token-discovery.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'tokens-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('token discovery', () => {
  it('token file: HF_TOKEN_PATH (with ~), $HF_HOME/token, $XDG_CACHE_HOME/huggingface/token, ~/.cache/huggingface/token', () => {
    expect(tokenFilePath({ HOME: '/h', HF_TOKEN_PATH: '~/t', HF_HOME: '/x' })).toBe('/h/t');
    expect(tokenFilePath({ HOME: '/h', HF_HOME: '~/hf', XDG_CACHE_HOME: '/c' })).toBe('/h/hf/token');
    expect(tokenFilePath({ HOME: '/h', XDG_CACHE_HOME: '/c' })).toBe('/c/huggingface/token');
    expect(tokenFilePath({ HOME: '/h' })).toBe('/h/.cache/huggingface/token');
  });

  it('reads the token file from XDG_CACHE_HOME and names its source', async () => {
    await mkdir(path.join(root, 'huggingface'));
    await writeFile(path.join(root, 'huggingface', 'token'), 'hf_from_xdg_cache_01\n');
    const found = await implicitToken({ HOME: path.join(root, 'nohome'), XDG_CACHE_HOME: root });
    expect(found).toEqual({ token: 'hf_from_xdg_cache_01', source: `the token file ${path.join(root, 'huggingface', 'token')}`, explicit: false });
    expect(await implicitToken({ HOME: path.join(root, 'nohome') })).toBeUndefined();
  });

  it('refuses tokens with inner whitespace or control characters, without echoing them', () => {
    for (const bad of ['hf_a b', 'hf_ab\ncd', 'hf_\x07x']) {
      try {
        explicitToken(bad, undefined);
        throw new Error('expected a refusal');
      } catch (e) {
        expect(isModelImportError(e) && e.code).toBe('TOKEN_INVALID');
        expect((e as Error).message).not.toContain(bad);
      }
    }
    expect(explicitToken(' hf_ok_token \n', undefined)?.token).toBe('hf_ok_token');
    expect(explicitToken('', 'hf_option_token')?.source).toBe('the plugin option token');
  });

  it('HF_HUB_DISABLE_IMPLICIT_TOKEN is truthy-parsed', () => {
    expect(implicitTokenDisabled({ HF_HUB_DISABLE_IMPLICIT_TOKEN: 'YES' })).toBe(true);
    expect(implicitTokenDisabled({ HF_HUB_DISABLE_IMPLICIT_TOKEN: '0' })).toBe(false);
    expect(implicitTokenDisabled({})).toBe(false);
  });
});
