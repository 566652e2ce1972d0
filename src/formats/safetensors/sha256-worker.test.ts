import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InlineSha256, WorkerSha256 } from './sha256-worker.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('WorkerSha256 / InlineSha256', () => {
  const memory = new SharedArrayBuffer(1 << 20);
  const all = new Uint8Array(memory);
  all.forEach((_, i) => (all[i] = (i * 131 + 7) & 0xff));
  const cuts = [0, 1, 64, 1000, 65_536, 500_001, 1 << 20];

  it.for(['worker', 'inline'])('hashes views of shared memory in the order given (%s)', async (kind) => {
    const hasher = kind === 'worker' ? new WorkerSha256() : new InlineSha256();
    try {
      await Promise.all(cuts.slice(1).map((end, k) => hasher.update(all.subarray(cuts[k], end))));
      expect(await hasher.digest()).toBe(sha(all));
    } finally {
      await hasher.close();
    }
  });

  it('refuses memory it cannot share, and digests the empty stream', async () => {
    const hasher = new WorkerSha256();
    try {
      await expect(hasher.update(new Uint8Array(4))).rejects.toThrow(/SharedArrayBuffer/);
      expect(await hasher.digest()).toBe(sha(new Uint8Array(0)));
    } finally {
      await hasher.close();
    }
  });
});
