/**
 * The adapter's reading of config.json against the validator's own: every fact either side states must agree
 * (numbers within 1e-6 relative, for float32-rounded frequencies and epsilons), and a fact the reference states
 * but the adapter does not is a disagreement too (an adapter that silently drops rope scaling must not pass).
 */
import type { ConfigFacts } from '../../../../src/index.js';

export interface FactDisagreement {
  field: string;
  adapter: string;
  reference: string;
}

const show = (v: unknown): string => (v === undefined ? 'nothing' : Array.isArray(v) && v.length > 6
  ? `[${v.slice(0, 3).map(String).join(', ')}, … ${v.length} values]` : JSON.stringify(v));

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  return a === b;
}

export function compareConfigFacts(adapter: ConfigFacts, reference: ConfigFacts): FactDisagreement[] {
  const fields = [...new Set([...Object.keys(reference), ...Object.keys(adapter)])].sort();
  const out: FactDisagreement[] = [];
  for (const field of fields) {
    if (!(field in reference)) continue; // facts the reference has no opinion on (adapter extras)
    if (!same(adapter[field], reference[field])) out.push({ field, adapter: show(adapter[field]), reference: show(reference[field]) });
  }
  return out;
}
