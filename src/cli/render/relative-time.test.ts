import { describe, expect, it } from 'vitest';
import { relativeTime } from './relative-time.js';

describe('relativeTime', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  it('says how long ago, in the largest whole unit', () => {
    expect(relativeTime('2026-12-04T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-12-04T11:59:30Z', now)).toBe('30 seconds ago');
    expect(relativeTime('2026-12-04T11:55:00Z', now)).toBe('5 minutes ago');
    expect(relativeTime('2026-12-04T11:00:00Z', now)).toBe('1 hour ago');
    expect(relativeTime('2026-12-01T12:00:00Z', now)).toBe('3 days ago');
    expect(relativeTime('2026-08-01T12:00:00Z', now)).toBe('4 months ago');
    expect(relativeTime('2024-12-01T12:00:00Z', now)).toBe('2 years ago');
    expect(relativeTime('not a date', now)).toBe('not a date');
  });
});
