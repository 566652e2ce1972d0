import { describe, expect, it } from 'vitest';
import { argmax, findNonFinite, maxAbsDifference, row } from './compare-logits.js';
import { formatBytes, formatCount, formatDelta, formatMs } from './format.js';

describe('compare-logits', () => {
  const dims: [number, number, number] = [2, 3, 4];
  const base = Float32Array.from({ length: 24 }, (_, i) => i / 10);

  it('finds the largest difference and where it is', () => {
    const other = base.slice();
    other[1 * 12 + 2 * 4 + 3] += 0.5;
    other[5] -= 0.25;
    expect(maxAbsDifference(base, other, dims)).toEqual({ max: expect.closeTo(0.5, 6), at: [1, 2, 3] });
    expect(maxAbsDifference(base, base, dims)).toEqual({ max: 0, at: [0, 0, 0] });
  });

  it('reports a NaN as a NaN difference at its place, not as a pass', () => {
    const other = base.slice();
    other[13] = NaN;
    expect(maxAbsDifference(base, other, dims)).toEqual({ max: NaN, at: [1, 0, 1] });
  });

  it('counts non-finite values and names the first', () => {
    const values = base.slice();
    values[6] = Infinity;
    values[20] = NaN;
    expect(findNonFinite(values, dims)).toEqual({ count: 2, first: { at: [0, 1, 2], value: Infinity } });
    expect(findNonFinite(base, dims)).toEqual({ count: 0 });
  });

  it('picks rows and argmax (first of ties)', () => {
    expect(Array.from(row(base, dims, 1, 1))).toEqual([1.6, 1.7, 1.8, 1.9].map((x) => Math.fround(x)));
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});

describe('format', () => {
  it('keeps table figures short', () => {
    expect([0, 1e-4, 3.24e-2, 2.4e-5, 12.5].map(formatDelta)).toEqual(['0', '1e-4', '3.2e-2', '2.4e-5', '1.3e1']);
    expect([512, 1536, 512e6, 1.8e9].map(formatBytes)).toEqual(['512 B', '1.54 KB', '512.0 MB', '1.80 GB']);
    expect([420.4, 2310].map(formatMs)).toEqual(['420 ms', '2.31 s']);
    expect(formatCount(494032768)).toBe('494,032,768');
  });
});
