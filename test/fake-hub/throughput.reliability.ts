/**
 * Loopback throughput on a 1 GiB file, with the client in its own process as in the benchmark (a client in the same
 * thread halves the figure). Target ~1 GB/s unthrottled; the floor leaves room for a busy 2-core machine.
 * Run with `npx vitest run --config vitest.reliability.config.ts test/fake-hub`.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyPatternFile } from './lazy-file.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const GIB = 1024 ** 3;
let hub: FakeHub;
let bare: Server;
let bareUrl: string;

// The sha256 is not checked here (the client counts bytes), so skip hashing 1 GiB.
beforeAll(async () => {
  hub = await startFakeHub({ repos: [{ id: 'bench/gib', files: {}, lazyFiles: { 'model.safetensors': lazyPatternFile(GIB, 1, '0'.repeat(64)) } }] });
  // The yardstick: the simplest node:http server sending the same number of bytes (a 256 MiB buffer, 4 times).
  const block = Buffer.alloc(256 * 1024 * 1024, 7);
  bare = createServer(async (_req, res) => {
    res.writeHead(200, { 'Content-Length': GIB });
    for (let i = 0; i < 4; i++) if (!res.write(block)) await new Promise((r) => res.once('drain', r));
    res.end();
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/`;
});
afterAll(async () => {
  await hub.close();
  await new Promise((r) => bare.close(r));
});

const CLIENT = `
const http = require('node:http');
const t0 = performance.now();
http.get(process.argv[1], (res) => {
  let n = 0;
  res.on('data', (c) => (n += c.length));
  res.on('end', () => console.log(JSON.stringify({ bytes: n, seconds: (performance.now() - t0) / 1000 })));
});`;

describe('throughput', () => {
  it('streams 1 GiB over loopback about as fast as a bare node:http server (best of 3, interleaved)', async () => {
    const rate = async (url: string) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', CLIENT, url]);
      const { bytes, seconds } = JSON.parse(stdout) as { bytes: number; seconds: number };
      expect(bytes).toBe(GIB);
      return bytes / seconds;
    };
    let hubBest = 0;
    let bareBest = 0;
    for (let run = 0; run < 3; run++) {
      hubBest = Math.max(hubBest, await rate(`${hub.url}/bench/gib/resolve/main/model.safetensors`));
      bareBest = Math.max(bareBest, await rate(bareUrl));
    }
    console.log(`fake hub ${(hubBest / 1e9).toFixed(2)} GB/s, bare node:http ${(bareBest / 1e9).toFixed(2)} GB/s`);
    // Machine load moves both figures together; the ratio is what our code controls.
    expect(hubBest).toBeGreaterThan(0.6 * bareBest);
  });
});
