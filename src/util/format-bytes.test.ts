import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.js';

describe('formatBytes', () => {
  it('uses decimal units like hf and the Hub pages', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 KB');
    expect(formatBytes(988_097_824)).toBe('988.1 MB');
    expect(formatBytes(1_976_195_648)).toBe('1.98 GB');
  });

  it('never shows "1000.0 MB": rounding up moves to the next unit', () => {
    expect(formatBytes(999_990_000)).toBe('1.00 GB');
  });
});
