/**
 * The per-connection throttle, measured from the client side.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyPatternFile } from './lazy-file.js';
import { startFakeHub } from './server.js';
import { TokenBucket } from './throttle.js';
import type { FakeHub } from './types.js';

const MB = 1_000_000;
let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({
    throttleBytesPerSecond: 5 * MB,
    repos: [{ id: 'bench/throttle', files: {}, lazyFiles: { 'model.safetensors': lazyPatternFile(5 * MB, 3, '0'.repeat(64)) } }],
  });
  // The first fetch in a process loads undici (~100 ms); keep that out of the measurements.
  await (await fetch(`${hub.url}/api/models/bench/throttle`)).arrayBuffer();
});
afterAll(() => hub.close());

async function timedDownload(range?: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${hub.url}/bench/throttle/resolve/main/model.safetensors`, range ? { headers: { Range: range } } : {});
  const bytes = (await res.arrayBuffer()).byteLength;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

describe('throttle', () => {
  // The bounds that matter are the lower ones (the throttle never lets bytes through faster than the rate); the
  // upper ones are loose, since a loaded 2-core machine runs late timers late.
  it('5 MB/s over 5 MB takes about 1 s (never under 0.85 s)', async () => {
    const { seconds, bytes } = await timedDownload();
    expect(bytes).toBe(5 * MB);
    expect(seconds).toBeGreaterThan(0.85);
    expect(seconds).toBeLessThan(2);
  });

  it('applies per connection: two parallel downloads each get the full rate', async () => {
    const [a, b] = await Promise.all([timedDownload(`bytes=0-${2.5 * MB - 1}`), timedDownload(`bytes=${2.5 * MB}-`)]);
    expect(a.bytes + b.bytes).toBe(5 * MB);
    for (const { seconds } of [a, b]) {
      expect(seconds).toBeGreaterThan(0.42);
      expect(seconds).toBeLessThan(0.9); // one shared bucket would take ~1 s
    }
  });

  it('an idle keep-alive connection saves up no burst for its next response', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        request(`${hub.url}/bench/throttle/resolve/main/model.safetensors`, { agent, headers: { Range: `bytes=0-${MB - 1}` } }, (res) => {
          sockets.add(res.socket);
          res.on('data', () => undefined);
          res.on('end', () => resolve((performance.now() - t0) / 1000));
        })
          .on('error', reject)
          .end();
      });
    try {
      await get();
      await new Promise((r) => setTimeout(r, 300));
      const second = await get();
      expect(sockets.size).toBe(1);
      expect(second).toBeGreaterThan(0.17); // 1 MB at 5 MB/s = 0.2 s; a saved-up burst would cut it to ~0.1 s
    } finally {
      agent.destroy();
    }
  });

  it('setThrottle changes the rate, and undefined lifts it', async () => {
    hub.setThrottle(20 * MB);
    const fast = await timedDownload();
    expect(fast.seconds).toBeGreaterThan(0.2);
    expect(fast.seconds).toBeLessThan(0.7); // the old 5 MB/s rate would take 1 s
    hub.setThrottle(undefined);
    expect((await timedDownload()).seconds).toBeLessThan(fast.seconds); // unthrottled beats 20 MB/s even when loaded
    hub.setThrottle(5 * MB);
    expect(() => hub.setThrottle(0)).toThrow(/> 0/);
  });

  it('the bucket keeps its average under coarse timers (no burst at start)', async () => {
    let rate: number | undefined = 2 * MB;
    const bucket = new TokenBucket(() => rate);
    const t0 = performance.now();
    for (let sent = 0; sent < 0.5 * MB; sent += 20_000) await bucket.take(20_000);
    const seconds = (performance.now() - t0) / 1000;
    expect(seconds).toBeGreaterThan(0.23);
    expect(seconds).toBeLessThan(0.6); // loose: a loaded machine runs timers late
    rate = undefined;
    const t1 = performance.now();
    await bucket.take(10 * MB);
    expect(performance.now() - t1).toBeLessThan(5);
  });
});
