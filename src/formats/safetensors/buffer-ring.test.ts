import { describe, expect, it } from 'vitest';
import { BufferRing } from './buffer-ring.js';

describe('BufferRing', () => {
  it('hands out its buffers in turn, reusing each after `size` takes and growing one when asked for more', () => {
    const ring = new BufferRing(3);
    const [a, b, c] = [ring.take(8), ring.take(8), ring.take(4)];
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(3);
    expect(ring.take(5).buffer).toBe(a.buffer); // smaller: same memory
    const grown = ring.take(100);
    expect(grown.length).toBe(100);
    expect(grown.buffer).not.toBe(b.buffer);
    expect(ring.take(2).buffer).toBe(c.buffer);
    ring.take(1);
    expect(ring.take(3).buffer).toBe(grown.buffer); // the grown buffer replaced the small one for good
  });

  it('needs at least one buffer', () => {
    expect(() => new BufferRing(0)).toThrow(RangeError);
  });
});
