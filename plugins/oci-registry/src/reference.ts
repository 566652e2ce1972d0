/**
 * `registry/repository:tag`, `registry/repository@sha256:…` (optionally behind `oci://`), parsed the way the
 * distribution spec names things, and the scheme each registry is spoken to with: https, except loopback
 * (a local `registry:2`) or a host the user explicitly marked insecure.
 */
import { ModelImportError } from '../../../src/index.js';

export interface OciReference {
  /** host[:port] as typed. */
  registry: string;
  repository: string;
  tag?: string;
  /** sha256:<64 hex> when pinned. */
  digest?: string;
}

// distribution/reference: path components of lowercase alphanumerics joined by separators; tags up to 128 chars.
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

function bad(spec: string, why: string): never {
  throw new ModelImportError('USAGE', `${JSON.stringify(spec)} is not a registry reference: ${why}.`, {
    hint: 'Write it as registry/repository:tag or registry/repository@sha256:<digest>, e.g. ghcr.io/acme/qwen2.5-0.5b:v1.',
  });
}

export function parseReference(spec: string, options: { requireTag?: boolean } = {}): OciReference {
  const text = spec.startsWith('oci://') ? spec.slice('oci://'.length) : spec;
  const slash = text.indexOf('/');
  if (slash <= 0) bad(spec, 'no registry host before the first "/"');
  const registry = text.slice(0, slash);
  if (!HOST.test(registry)) bad(spec, `bad registry host ${JSON.stringify(registry)}`);
  let rest = text.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad(spec, 'the digest must be sha256:<64 lowercase hex>');
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(spec, `bad tag ${JSON.stringify(tag)}`);
  }
  if (!REPOSITORY.test(rest)) bad(spec, `bad repository ${JSON.stringify(rest)} (lowercase letters, digits, . _ - and /)`);
  if (!tag && !digest) {
    if (options.requireTag) bad(spec, 'no :tag');
    tag = 'latest';
  }
  return { registry, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function formatReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function hostOnly(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  return registry.replace(/:\d+$/, '');
}

export function isLoopback(registry: string): boolean {
  const host = hostOnly(registry).toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The base URL of a registry. Plain http only for loopback or a host the user named insecure (--insecure, or
 * MODEL_IMPORT_INSECURE_REGISTRIES=host[:port],…): credentials must never cross a network in the clear by default.
 */
export function registryBaseUrl(registry: string, insecure: boolean | readonly string[] = false): string {
  const listed = Array.isArray(insecure) ? insecure.includes(registry) || insecure.includes(hostOnly(registry)) : insecure === true;
  return `${isLoopback(registry) || listed ? 'http' : 'https'}://${registry}`;
}

export function insecureList(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env.MODEL_IMPORT_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
