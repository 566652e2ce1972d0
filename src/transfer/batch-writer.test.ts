import { describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.js';

const buffers = (n: number): [Buffer, Buffer] => [Buffer.alloc(n), Buffer.alloc(n)];

describe('BatchWriter', () => {
  it('writes batches at the right offsets, pauses while both buffers are busy, resumes after', async () => {
    const writes: [number, string][] = [];
    const pending: (() => void)[] = [];
    const writer = new BatchWriter(buffers(8), 100, 4, (data, at) => {
      writes.push([at, data.toString()]);
      return new Promise((resolve) => pending.push(resolve));
    });
    let resumed = 0;
    writer.onResume = () => resumed++;
    expect(writer.push(Buffer.from('abcd'))).toBe(true); // batch 1 handed off
    expect(writer.push(Buffer.from('efgh'))).toBe(false); // batch 2 full, batch 1 still writing: pause
    expect(writer.position).toBe(108);
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(1); // batch 2 handed off on completion
    expect(writer.push(Buffer.from('ij'))).toBe(true);
    const flushed = writer.flush();
    while (pending.length || writes.length < 3) {
      await new Promise((r) => setImmediate(r));
      pending.shift()?.();
    }
    await flushed;
    expect(writes).toEqual([
      [100, 'abcd'],
      [104, 'efgh'],
      [108, 'ij'],
    ]);
  });

  it('a failed write stops the request and is rethrown by flush', async () => {
    const writer = new BatchWriter(buffers(8), 0, 2, async () => {
      throw new Error('disk full');
    });
    let stopped: unknown;
    writer.onFailure = (e) => (stopped = e);
    writer.push(Buffer.from('ab'));
    await expect(writer.flush()).rejects.toThrow('disk full');
    expect(String(stopped)).toContain('disk full');
    expect(writer.push(Buffer.from('cd'))).toBe(false);
  });

  it('refuses a read larger than its headroom', () => {
    const writer = new BatchWriter(buffers(4), 0, 2, async () => undefined);
    expect(() => writer.push(Buffer.alloc(5))).toThrow('batch overflow');
  });
});
