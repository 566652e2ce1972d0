/**
 * What people paste as the repo id: the model page's address (https://huggingface.co/Qwen/Qwen2.5-0.5B), a
 * branch or commit page (…/tree/main, …/tree/<commit>, whose revision is then used), the same under the
 * configured HF_ENDPOINT, or an id with a trailing slash. All become the plain "owner/name" (and a revision).
 * Anything else (other schemes such as "test:" or "local:", other hosts) is passed on as it is.
 */
import { usageError } from './output.js';

export interface RepoArgument {
  spec: string;
  revision?: string;
}

const HUB_HOSTS = ['huggingface.co', 'hf.co', 'www.huggingface.co'];

export function parseRepoArgument(input: string, options: { revision?: string; endpoints?: (string | undefined)[] } = {}): RepoArgument {
  const text = input.trim();
  const url = /^https?:\/\//i.test(text) ? safeUrl(text) : undefined;
  if (!url) {
    // "Qwen/Qwen2.5-0.5B/" -> "Qwen/Qwen2.5-0.5B"; specs with a scheme ("local:/models/x/") are left alone.
    const plain = /^[\w.-]+\/[\w.-]+\/+$/.test(text) ? text.replace(/\/+$/, '') : text;
    return { spec: plain, revision: options.revision };
  }
  const base = matchingBase(url, options.endpoints ?? []);
  if (base === undefined) return { spec: text, revision: options.revision };
  const parts = url.pathname.slice(base.length).split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'models') parts.shift(); // https://huggingface.co/models/... is not a page, but harmless
  if (parts[0] === 'datasets' || parts[0] === 'spaces') {
    throw usageError(`${text} is a ${parts[0].slice(0, -1)}, not a model.`);
  }
  if (parts.length < 2) throw usageError(`${text} names no model: expected an address like https://huggingface.co/Qwen/Qwen2.5-0.5B.`);
  const [owner, name, kind, ...rest] = parts;
  let revision = options.revision;
  if ((kind === 'tree' || kind === 'blob' || kind === 'resolve' || kind === 'commit') && rest.length > 0) {
    // A branch name may hold slashes ("refs/pr/1"); tree/<rev> pages have nothing after the revision.
    const fromUrl = kind === 'tree' ? rest.join('/') : rest[0];
    if (revision && revision !== fromUrl) {
      throw usageError(`The address says revision "${fromUrl}" but --revision says "${revision}".`);
    }
    revision = fromUrl;
  }
  return { spec: `${owner}/${name}`, revision };
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The path prefix of the hub the address belongs to ("" for huggingface.co), or undefined for another host. */
function matchingBase(url: URL, endpoints: (string | undefined)[]): string | undefined {
  if (HUB_HOSTS.includes(url.hostname.toLowerCase())) return '';
  for (const endpoint of endpoints) {
    const parsed = endpoint ? safeUrl(endpoint) : undefined;
    if (!parsed || parsed.host.toLowerCase() !== url.host.toLowerCase()) continue;
    const prefix = parsed.pathname.replace(/\/+$/, '');
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) return prefix;
  }
  return undefined;
}
