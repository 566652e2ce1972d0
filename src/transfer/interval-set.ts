/** Sorted, disjoint, half-open byte ranges [start, end): what part of a file is already on disk. */
export class IntervalSet {
  private ranges: [number, number][] = [];

  constructor(ranges: readonly (readonly [number, number])[] = []) {
    for (const [a, b] of ranges) this.add(a, b);
  }

  add(start: number, end: number): void {
    if (!(end > start)) return;
    const out: [number, number][] = [];
    let [s, e] = [start, end];
    let placed = false;
    for (const [a, b] of this.ranges) {
      if (b < s) out.push([a, b]);
      else if (a > e) {
        if (!placed) {
          out.push([s, e]);
          placed = true;
        }
        out.push([a, b]);
      } else {
        s = Math.min(a, s);
        e = Math.max(b, e);
      }
    }
    if (!placed) out.push([s, e]);
    this.ranges = out;
  }

  /** Bytes covered. */
  total(): number {
    return this.ranges.reduce((sum, [a, b]) => sum + (b - a), 0);
  }

  /** Where the covered run that contains `from` ends (`from` itself when `from` is not covered). */
  contiguousEnd(from: number): number {
    for (const [a, b] of this.ranges) if (a <= from && from < b) return b;
    return from;
  }

  /** The gaps in [0, size). */
  missing(size: number): [number, number][] {
    const gaps: [number, number][] = [];
    let at = 0;
    for (const [a, b] of this.ranges) {
      if (a >= size) break;
      if (a > at) gaps.push([at, a]);
      at = Math.max(at, b);
    }
    if (at < size) gaps.push([at, size]);
    return gaps;
  }

  toJSON(): [number, number][] {
    return this.ranges.map(([a, b]) => [a, b]);
  }
}
