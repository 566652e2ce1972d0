/**
 * Single-range `Range: bytes=...` parsing as the hub does it (reference §3.4). A header we cannot parse, or one with
 * several ranges, is ignored (RFC 9110: the server may serve the whole file).
 */

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number } // end inclusive
  | { kind: 'unsatisfiable' }
  /** Any range on a 0-byte file: JS needs a 200 with `Content-Range: bytes *\/0` (reference §3.3 edge cases). */
  | { kind: 'empty' };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (size === 0) return { kind: 'empty' };
  if (m[1] === '') {
    // Suffix range: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' }; // invalid: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
