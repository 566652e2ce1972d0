import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from './find-duplicate-key.js';

describe('findDuplicateKey', () => {
  it('finds duplicates at any depth and reports where', () => {
    expect(findDuplicateKey('{"a":1,"b":2,"a":3}')).toEqual({ key: 'a', path: [] });
    expect(findDuplicateKey('{"x":{"y":[{"k":1},{"k":2,"k":3}]}}')).toEqual({ key: 'k', path: ['x', 'y', '1'] });
    expect(findDuplicateKey('{"\\u0061":1,"a":2}')).toEqual({ key: 'a', path: [] });
  });

  it('does not confuse values, strings with braces or escaped quotes, or sibling objects with duplicates', () => {
    expect(findDuplicateKey('{"a":"a","b":{"a":1},"c":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(findDuplicateKey('{"a":"{\\"a\\":1,","b":"}],[{","c":1}')).toBeUndefined();
    expect(findDuplicateKey('[1,2,{"a":1}]')).toBeUndefined();
  });

  it('copes with very deep nesting without recursion', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(findDuplicateKey(deep)).toBeUndefined();
  });
});
