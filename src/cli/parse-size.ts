import { ModelImportError } from '../kernel/errors.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "512MB", "2GiB", "1.5G", "1000000" -> bytes. */
export function parseSize(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    throw new ModelImportError('USAGE', `Invalid size for ${flag}: ${JSON.stringify(text)}.`, {
      hint: `Give a number with an optional unit, e.g. ${flag} 512MB or ${flag} 2GiB.`,
    });
  }
  return Math.floor(Number(match[1]) * unit);
}
