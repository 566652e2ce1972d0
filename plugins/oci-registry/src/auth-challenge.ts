/**
 * `WWW-Authenticate` as registries send it (RFC 7235): `Bearer realm="…",service="…",scope="…"` (the
 * distribution token flow) or `Basic realm="…"` (distribution with htpasswd). Only the first challenge is read.
 */
export interface AuthChallenge {
  scheme: 'basic' | 'bearer' | 'other';
  params: Record<string, string>;
}

export function parseChallenge(header: string | null): AuthChallenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const name = match[1].toLowerCase();
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let m = pattern.exec(match[2]); m; m = pattern.exec(match[2])) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return { scheme: name === 'basic' ? 'basic' : name === 'bearer' ? 'bearer' : 'other', params };
}
