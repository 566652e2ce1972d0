import { describe, expect, it } from 'vitest';
import { IntervalSet } from './interval-set.js';

describe('IntervalSet', () => {
  it('merges overlapping and touching ranges, in any order', () => {
    const s = new IntervalSet();
    s.add(10, 20);
    s.add(30, 40);
    s.add(20, 25);
    s.add(0, 5);
    s.add(24, 31);
    expect(s.toJSON()).toEqual([
      [0, 5],
      [10, 40],
    ]);
    expect(s.total()).toBe(35);
    s.add(7, 7); // empty: ignored
    expect(s.toJSON()).toHaveLength(2);
  });

  it('contiguousEnd and missing', () => {
    const s = new IntervalSet([
      [0, 5],
      [10, 40],
    ]);
    expect(s.contiguousEnd(0)).toBe(5);
    expect(s.contiguousEnd(3)).toBe(5);
    expect(s.contiguousEnd(5)).toBe(5);
    expect(s.contiguousEnd(10)).toBe(40);
    expect(s.missing(50)).toEqual([
      [5, 10],
      [40, 50],
    ]);
    expect(new IntervalSet().missing(3)).toEqual([[0, 3]]);
    expect(new IntervalSet([[0, 3]]).missing(3)).toEqual([]);
  });
});
