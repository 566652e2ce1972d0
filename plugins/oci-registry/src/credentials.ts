/**
 * Registry credentials, in docker's order of precedence after the explicit ones: flags, then
 * MODEL_IMPORT_REGISTRY_USERNAME / MODEL_IMPORT_REGISTRY_PASSWORD, then Docker's config.json
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): credHelpers[host], credsStore, auths[host].auth.
 * They live in memory only: never printed, logged, stored or put in an error message.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages ("--password", "docker config.json", "docker-credential-pass"). */
  origin: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Keys docker writes for a host: bare, with a scheme, with a /v1/ or /v2/ path; Docker Hub's legacy key. */
function candidateKeys(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === 'docker.io' || registry === 'registry-1.docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io');
  return keys;
}

function lookup<T>(table: Record<string, T> | undefined, registry: string): T | undefined {
  if (!table) return undefined;
  for (const key of candidateKeys(registry)) if (table[key] !== undefined) return table[key];
  return undefined;
}

/** `docker-credential-<helper> get` with the server URL on stdin; undefined when absent or it knows nothing. */
function fromHelper(helper: string, registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { env, timeout: 20_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) return resolve(undefined);
      try {
        const answer = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (typeof answer.Secret === 'string' && answer.Secret.length > 0) {
          return resolve({ username: answer.Username ?? '', password: answer.Secret, origin: `docker-credential-${helper}` });
        }
      } catch {
        // a helper that answers garbage knows nothing useful
      }
      resolve(undefined);
    });
    child.stdin?.end(registry);
  });
}

export async function dockerConfigPath(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  return path.join(env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker'), 'config.json');
}

export async function findCredentials(
  registry: string,
  explicit: { username?: string; password?: string },
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  if (explicit.password !== undefined) return { username: explicit.username ?? '', password: explicit.password, origin: '--password' };
  if (env.MODEL_IMPORT_REGISTRY_PASSWORD) {
    return { username: env.MODEL_IMPORT_REGISTRY_USERNAME ?? '', password: env.MODEL_IMPORT_REGISTRY_PASSWORD, origin: 'MODEL_IMPORT_REGISTRY_PASSWORD' };
  }
  let config: DockerConfig;
  const file = await dockerConfigPath(env);
  try {
    config = JSON.parse(await fs.readFile(file, 'utf8')) as DockerConfig;
  } catch {
    return undefined;
  }
  const childEnv = { ...process.env, ...env } as NodeJS.ProcessEnv;
  const helper = lookup(config.credHelpers, registry);
  if (helper) return fromHelper(helper, registry, childEnv);
  if (config.credsStore) {
    const stored = await fromHelper(config.credsStore, registry, childEnv);
    if (stored) return stored;
  }
  const entry = lookup(config.auths, registry);
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), origin: file };
  }
  if (entry?.username && entry.password) return { username: entry.username, password: entry.password, origin: file };
  return undefined;
}
