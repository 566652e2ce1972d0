/**
 * The one size convention of every message: decimal units (1 MB = 1,000,000 bytes), as `hf`, the Hub's web
 * pages and disk vendors use, so "988.1 MB" here is "988 MB" on the model page. Three significant figures.
 */
const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-- B';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 999.95 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : Math.abs(value) < 10 ? 2 : 1)} ${UNITS[unit]}`;
}
