/**
 * The HF_* environment conventions of the Python client (reference §6) that @huggingface/hub does not read:
 * endpoint, offline mode.
 */
import { ModelImportError } from '../../../src/index.js';
import { DEFAULT_ENDPOINT } from './names.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The Python client's truthy values: 1/ON/YES/TRUE, case-insensitive. */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

/** Plugin option, then the config file's hubEndpoint, then HF_ENDPOINT, then huggingface.co; no trailing '/'. */
export function resolveEndpoint(option: string | undefined, settings: Readonly<Record<string, unknown>>, env: Env): string {
  const fromSettings = typeof settings.hubEndpoint === 'string' && settings.hubEndpoint ? settings.hubEndpoint : undefined;
  const raw = option || fromSettings || env.HF_ENDPOINT || DEFAULT_ENDPOINT;
  const where = option ? 'the plugin option endpoint' : fromSettings ? 'the hubEndpoint setting' : env.HF_ENDPOINT ? 'HF_ENDPOINT' : 'default';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw badEndpoint(raw, where);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    throw badEndpoint(raw, where);
  }
  return url.href.replace(/\/+$/, '');
}

function badEndpoint(raw: string, where: string): ModelImportError {
  return new ModelImportError('CONFIG_INVALID', `The hub endpoint from ${where} is not a plain http(s) URL: ${JSON.stringify(raw)}.`, {
    hint: 'Give a URL such as https://huggingface.co or https://hf-mirror.com (no credentials, query or fragment).',
  });
}

/** HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE forbid any request: say so before sending one. */
export function checkOffline(env: Env, repoId: string): void {
  const variable = isTruthy(env.HF_HUB_OFFLINE) ? 'HF_HUB_OFFLINE' : isTruthy(env.TRANSFORMERS_OFFLINE) ? 'TRANSFORMERS_OFFLINE' : undefined;
  if (!variable) return;
  throw new ModelImportError('OFFLINE', `${variable} is set, so ${repoId} cannot be downloaded from the hub.`, {
    hint: `Unset ${variable} to download, or import a local folder or a snapshot from the Hugging Face cache (e.g. ./my-model).`,
    details: { variable },
  });
}
