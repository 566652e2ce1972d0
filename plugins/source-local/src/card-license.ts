/**
 * The license a local folder declares: the model card's YAML front matter (license, license_name,
 * license_link: the same keys the hub reads) and the LICENSE file. Only flat `key: value` lines are read;
 * that is all those three keys ever are.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LicenseInfo } from '../../../src/index.js';

function frontMatter(text: string): Record<string, string> {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  const out: Record<string, string> = {};
  if (!match) return out;
  for (const line of match[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*):\s*(.+?)\s*$/.exec(line);
    if (kv) out[kv[1]] = kv[2].replace(/^["']|["']$/g, '');
  }
  return out;
}

export async function localLicense(folder: string, licenseFile: string | undefined): Promise<LicenseInfo | undefined> {
  const readme = await fs.readFile(path.join(folder, 'README.md'), 'utf8').catch(() => '');
  const card = frontMatter(readme);
  const info: LicenseInfo = {
    ...(card.license ? { id: card.license } : {}),
    ...(card.license_name ? { name: card.license_name } : {}),
    ...(card.license_link ? { link: card.license_link } : {}),
    ...(licenseFile ? { file: licenseFile } : {}),
  };
  if (licenseFile) {
    const text = await fs.readFile(path.join(folder, licenseFile), 'utf8').catch(() => '');
    info.excerpt = text.replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').split('\n').slice(0, 25).join('\n').trimEnd();
  }
  return Object.keys(info).length ? info : undefined;
}
