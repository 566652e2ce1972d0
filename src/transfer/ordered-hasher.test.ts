import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntervalSet } from './interval-set.js';
import { OrderedHasher } from './ordered-hasher.js';

const data = Buffer.from(Array.from({ length: 5_000_003 }, (_, i) => (i * 7919) & 0xff));

describe('OrderedHasher', () => {
  it('hashes out-of-order writes (and bytes already on disk) exactly once, in order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hasher-'));
    try {
      const fh = await open(path.join(dir, 'f'), 'w+');
      const done = new IntervalSet();
      // an earlier run left [1_000_000, 1_500_000) on disk
      await fh.write(data, 1_000_000, 500_000, 1_000_000);
      done.add(1_000_000, 1_500_000);
      const hasher = new OrderedHasher(fh, data.length, done, true);
      hasher.kick();
      const pieces: [number, number][] = [];
      for (let a = 0; a < data.length; a += 300_001) pieces.push([a, Math.min(data.length, a + 300_001)]);
      // write in a scrambled order, overlapping the resumed part too
      for (const [a, b] of [...pieces].sort((x, y) => ((x[0] * 13) % 7) - ((y[0] * 13) % 7))) {
        const piece = data.subarray(a, b);
        await fh.write(piece, 0, piece.length, a);
        done.add(a, b);
        hasher.onWritten(a, piece);
      }
      const digests = await hasher.finish();
      await fh.close();
      expect(digests.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect(digests.gitSha1).toBe(createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to finish before every byte is there', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hasher-'));
    try {
      const fh = await open(path.join(dir, 'f'), 'w+');
      const hasher = new OrderedHasher(fh, 10, new IntervalSet(), false);
      await expect(hasher.finish()).rejects.toThrow('hashed 0 of 10 bytes');
      await fh.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
