/**
 * Each fault kind as a client sees it: cut bodies, 5xx answers, stalls (finite and endless) and resets.
 */
import { downloadFile } from '@huggingface/hub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handMadeFiles, handMadeRepo } from './hand-made-repo.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const REPO = 'test-org/hand-made';
const files = handMadeFiles();
const big = Buffer.from(files['big.dat']);
let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [handMadeRepo(REPO)] });
});
afterEach(() => hub.clearFaults());
afterAll(() => hub.close());

const url = (path: string) => `${hub.url}/${REPO}/resolve/main/${path}`;

/** Reads a body to the end or to the first error, reporting what arrived. */
async function readAll(res: Response): Promise<{ bytes: Buffer; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks) };
      chunks.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

describe('faults', () => {
  it('drop-after: the body stops after exactly N bytes and the read fails; times:1 lets the retry through', async () => {
    hub.inject({ kind: 'drop-after', bytes: 1000, path: 'big.dat', times: 1 });
    const res = await fetch(url('big.dat'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.byteLength));
    const first = await readAll(res);
    expect(first.error).toBeDefined();
    expect(first.bytes.equals(big.subarray(0, 1000))).toBe(true);
    expect(hub.requests.at(-1)).toMatchObject({ fault: 'drop-after', completed: false, bytesSent: 1000 });
    const second = await readAll(await fetch(url('big.dat')));
    expect(second.error).toBeUndefined();
    expect(second.bytes.equals(big)).toBe(true);
  });

  it('drop-after applies inside a range and spares bodies too short to reach it (probes, HEAD)', async () => {
    hub.inject({ kind: 'drop-after', bytes: 10, path: /big\.dat$/ });
    const probe = await fetch(url('big.dat'), { headers: { Range: 'bytes=0-0' } });
    expect((await readAll(probe)).bytes.byteLength).toBe(1);
    expect((await fetch(url('big.dat'), { method: 'HEAD' })).status).toBe(200);
    const ranged = await readAll(await fetch(url('big.dat'), { headers: { Range: 'bytes=500-' } }));
    expect(ranged.error).toBeDefined();
    expect(ranged.bytes.equals(big.subarray(500, 510))).toBe(true);
    expect((await readAll(await fetch(url('config.json')))).error).toBeUndefined(); // other paths untouched
  });

  it('drop-after 0 and stall at 0 still send the response head first', async () => {
    hub.inject({ kind: 'drop-after', bytes: 0, path: 'big.dat', times: 1 });
    const dropped = await fetch(url('big.dat'));
    expect(dropped.status).toBe(200);
    const got = await readAll(dropped);
    expect(got.error).toBeDefined();
    expect(got.bytes.byteLength).toBe(0);
    hub.inject({ kind: 'stall', afterBytes: 0, ms: Infinity, path: 'big.dat', times: 1 });
    const stalled = await fetch(url('big.dat'), { signal: AbortSignal.timeout(200) });
    expect(stalled.status).toBe(200);
    expect((await readAll(stalled)).bytes.byteLength).toBe(0);
  });

  it('drop-after reaches @huggingface/hub as a failed stream', async () => {
    hub.inject({ kind: 'drop-after', bytes: 5000, path: 'big.dat' });
    const blob = await downloadFile({ repo: REPO, path: 'big.dat', hubUrl: hub.url });
    await expect(new Response(blob!.stream()).arrayBuffer()).rejects.toBeDefined();
  });

  it('status: a 503 with X-Error-Message and a JSON body, for `times` requests only', async () => {
    hub.inject({ kind: 'status', status: 503, path: 'config.json', times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url('config.json'));
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.headers.get('x-error-message')).toBeTruthy();
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    expect((await fetch(url('config.json'))).status).toBe(200);
  });

  it('stall: the body pauses for ms after afterBytes, then completes intact', async () => {
    hub.inject({ kind: 'stall', afterBytes: 2000, ms: 400, path: 'big.dat', times: 1 });
    const t0 = performance.now();
    const { bytes, error } = await readAll(await fetch(url('big.dat')));
    const elapsed = performance.now() - t0;
    expect(error).toBeUndefined();
    expect(bytes.equals(big)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(2000);
  });

  it('stall forever: only the client can give up (timeout), having received afterBytes', async () => {
    hub.inject({ kind: 'stall', afterBytes: 3000, ms: Infinity, path: 'big.dat' });
    const res = await fetch(url('big.dat'), { signal: AbortSignal.timeout(300) });
    const { bytes, error } = await readAll(res);
    expect((error as Error).name).toMatch(/TimeoutError|AbortError/);
    expect(bytes.equals(big.subarray(0, 3000))).toBe(true);
  });

  it('reset: the connection dies before any byte of the response', async () => {
    hub.inject({ kind: 'reset', path: 'config.json', times: 1 });
    await expect(fetch(url('config.json'))).rejects.toThrow(/fetch failed/);
    expect(hub.requests.at(-1)).toMatchObject({ fault: 'reset', status: 0, bytesSent: 0, completed: false });
    expect((await fetch(url('config.json'))).status).toBe(200);
  });

  it('faults do not touch error answers, API routes or other paths', async () => {
    hub.inject({ kind: 'status', status: 500 });
    expect((await fetch(url('missing.json'))).status).toBe(404);
    expect((await fetch(`${hub.url}/api/models/${REPO}`)).status).toBe(200);
    hub.clearFaults();
    hub.inject({ kind: 'reset', path: /^\/other-org\// });
    expect((await fetch(url('config.json'))).status).toBe(200);
  });

  it('rejects nonsense faults', () => {
    expect(() => hub.inject({ kind: 'status', status: 200 })).toThrow(/4xx or 5xx/);
    expect(() => hub.inject({ kind: 'drop-after', bytes: -1 })).toThrow(/bytes/);
  });
});
