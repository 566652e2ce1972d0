/**
 * SIGKILL in the middle of a download (no cleanup code runs), then the same fetch again: it resumes from the
 * recorded ranges and ends bit-exact.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { bytes, resolveAndAuthorize, sha256, startHarness, tinyRepo, tinyRepoFiles, type Harness } from '../test-support/harness.js';

const CHILD = fileURLToPath(new URL('../test-support/fetch-child.ts', import.meta.url));
const SIZE = 6_000_000;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('an import killed with SIGKILL mid-download resumes on the next run and ends bit-exact', async () => {
  const weights = bytes(SIZE, 77);
  h = await startHarness([tinyRepo('tiny-org/big', { files: { ...tinyRepoFiles(), 'model.safetensors': weights } })], { connections: 2, chunkSize: 4 << 20 });
  h.hub.setThrottle(1_000_000); // per connection: the child needs ~3 s; it is killed after ~2.3 s
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, h.hub.url, 'tiny-org/big', h.rawDir, h.partialDir, h.env.HF_HOME!], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killedAt = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        const m = /^progress (\d+) (\d+)$/.exec(line);
        // Kill once the sidecar (saved every second) has had time to record some of the weights.
        if (m && Number(m[2]) === SIZE && Number(m[1]) > 4_500_000 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
        if (line === 'done') reject(new Error('the child finished before it was killed'));
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? undefined : reject(new Error(`child exited ${code}`))));
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  expect(killedAt).toBeGreaterThan(4_500_000);
  const partials = await readdir(h.partialDir);
  const key = sha256(weights);
  expect(partials).toEqual(expect.arrayContaining([`${key}.part`, `${key}.json`]));
  const recorded = JSON.parse(await readFile(path.join(h.partialDir, `${key}.json`), 'utf8')).done as [number, number][];
  const kept = recorded.reduce((n, [a, b]) => n + b - a, 0);
  expect(kept).toBeGreaterThan(0);

  h.hub.setThrottle(undefined);
  const plan = await resolveAndAuthorize(h, 'tiny-org/big');
  const served = h.hub.weightBytesServed();
  const result = (await h.hooks.fetch.promise(plan, h.fetchContext()))!;
  expect(h.hub.weightBytesServed() - served).toBe(SIZE - kept);
  expect(result.files.find((f) => f.path === 'model.safetensors')!.sha256).toBe(key);
  expect(sha256(await readFile(path.join(h.rawDir, 'model.safetensors')))).toBe(key);
  expect(await readdir(h.partialDir)).toEqual([]);
}, 30_000);
