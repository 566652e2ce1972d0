/**
 * Short figures for the results table: a table cell holds "max |Δ| 3.2e-6", not a paragraph.
 */

/** Sizes: the one convention of every message (decimal units, src/util/format-bytes.ts). */
export { formatBytes } from '../../../src/index.js';

/** Differences and tolerances: 0 -> "0", 3.24e-2 -> "3.2e-2", 1e-4 -> "1e-4". */
export function formatDelta(value: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return String(value);
  const [mantissa, exponent] = value.toExponential(1).split('e');
  return `${mantissa.replace(/\.0$/, '')}e${Number(exponent)}`;
}

/** Milliseconds -> "420 ms" / "2.31 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Integer with thousands separators, locale-independent: 1234567 -> "1,234,567". */
export function formatCount(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
