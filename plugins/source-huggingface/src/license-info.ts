/**
 * License facts from the hub's card data and tags (reference §2.2), and a clean excerpt of the LICENSE file.
 */
import type { LicenseInfo } from '../../../src/index.js';

export function licenseFromCard(
  cardData: Record<string, unknown> | undefined,
  tags: readonly string[] | undefined,
  links: { endpoint: string; repoId: string; commit: string; file?: string },
): LicenseInfo | undefined {
  const raw = cardData?.license;
  let id: string | undefined;
  if (typeof raw === 'string' && raw.trim()) id = raw.trim();
  else if (Array.isArray(raw)) {
    const ids = raw.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
    if (ids.length) id = ids.join(' OR ');
  }
  id ??= tags?.find((t) => typeof t === 'string' && t.startsWith('license:'))?.slice('license:'.length) || undefined;
  const name = typeof cardData?.license_name === 'string' && cardData.license_name.trim() ? cardData.license_name.trim() : undefined;
  const blob = (p: string) => `${links.endpoint}/${links.repoId}/blob/${links.commit}/${p.split('/').map(encodeURIComponent).join('/')}`;
  let link: string | undefined;
  const rawLink = cardData?.license_link;
  if (typeof rawLink === 'string' && rawLink.trim()) {
    const text = rawLink.trim();
    // A relative link (e.g. "LICENSE") points into the repo; make it absolute, pinned to the commit.
    link = /^https?:\/\//i.test(text) ? text : blob(text.replace(/^\.?\//, ''));
  } else if (links.file) link = blob(links.file);
  if (!id && !name && !link && !links.file) return undefined;
  return {
    ...(id ? { id } : {}),
    ...(name ? { name } : {}),
    ...(link ? { link } : {}),
    ...(links.file ? { file: links.file } : {}),
  };
}

/**
 * The first `lines` lines of a license text as something safe to print: decoded as UTF-8 (a character cut by the
 * byte cap is dropped), terminal control sequences removed, trailing blank lines trimmed.
 */
export function licenseExcerpt(bytes: Uint8Array, truncatedByCap: boolean, lines = 25): string {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (truncatedByCap) text = text.replace(/\uFFFD+$/, '');
  text = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)?/g, '') // OSC (window titles, hyperlinks)
    .replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, '') // CSI (colours, cursor moves, clears)
    .replace(/\x1b[@-_]?/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '');
  const all = text.split('\n');
  if (truncatedByCap && all.length > 1 && all.length <= lines) all.pop(); // the last line may be cut mid-way
  return all
    .slice(0, lines)
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
}
