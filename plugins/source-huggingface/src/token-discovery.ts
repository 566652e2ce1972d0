/**
 * Where a Hugging Face token comes from (reference §6), in the Python client's order. A token is a secret: it is
 * returned with the name of its source (for messages) and never logged, written or put into an error.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelImportError } from '../../../src/index.js';
import { isTruthy, type Env } from './hub-env.js';

export interface FoundToken {
  token: string;
  /** Human name of where it came from: "--token", "HF_TOKEN", "the token file /x/token", ... */
  source: string;
  /** Given on purpose (flag or plugin option) rather than picked up from the environment. */
  explicit: boolean;
}

/** A token is one header value: no whitespace or control characters (they would break or inject headers). */
function checked(raw: string, source: string, explicit: boolean): FoundToken | undefined {
  const token = raw.trim();
  if (token === '') return undefined;
  if (/[\s\x00-\x1f\x7f]/.test(token)) {
    throw new ModelImportError('TOKEN_INVALID', `The Hugging Face token from ${source} contains spaces or control characters.`, {
      hint: 'Copy the token again from https://huggingface.co/settings/tokens; it is one word starting with hf_.',
    });
  }
  return { token, source, explicit };
}

const expandHome = (p: string, env: Env) => (p === '~' || p.startsWith('~/') ? path.join(homeDir(env), p.slice(1)) : p);
const homeDir = (env: Env) => env.HOME || env.USERPROFILE || os.homedir();

/** HF_TOKEN_PATH, else $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token. */
export function tokenFilePath(env: Env): string {
  if (env.HF_TOKEN_PATH) return expandHome(env.HF_TOKEN_PATH, env);
  if (env.HF_HOME) return path.join(expandHome(env.HF_HOME, env), 'token');
  if (env.XDG_CACHE_HOME) return path.join(expandHome(env.XDG_CACHE_HOME, env), 'huggingface', 'token');
  return path.join(homeDir(env), '.cache', 'huggingface', 'token');
}

/** --token, then the plugin option. */
export function explicitToken(flag: string | undefined, option: string | undefined): FoundToken | undefined {
  if (flag !== undefined) {
    const found = checked(flag, '--token', true);
    if (found) return found;
  }
  return option !== undefined ? checked(option, 'the plugin option token', true) : undefined;
}

/** HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file; empty values count as absent. */
export async function implicitToken(env: Env): Promise<FoundToken | undefined> {
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'] as const) {
    const value = env[name];
    if (value !== undefined) {
      const found = checked(value, name, false);
      if (found) return found;
    }
  }
  const file = tokenFilePath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return checked(text, `the token file ${file}`, false);
}

/** HF_HUB_DISABLE_IMPLICIT_TOKEN: environment tokens are sent only to repos that need one (gated or private). */
export function implicitTokenDisabled(env: Env): boolean {
  return isTruthy(env.HF_HUB_DISABLE_IMPLICIT_TOKEN);
}
