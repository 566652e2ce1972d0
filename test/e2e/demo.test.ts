/**
 * The README promises `npm run demo`: the offline demo runs end to end (without a terminal it accepts the license
 * by flag), shows the license, the conversion components, the validation table and the registry listing.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('model-import-demo-')));
afterEach(async () => cleanup());

it('npm run demo imports the tiny model offline and lists it', async () => {
  const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [path.join(REPO_ROOT, 'scripts', 'demo.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, DEMO_DIR: dir, HF_TOKEN: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, out).toBe(0);
  expect(out).toContain('License of tiny-org/qwen2-tiny: apache-2.0');
  expect(out).toContain('License accepted by --accept-license');
  expect(out).toMatch(/✔ weights: .*linked \(no copy\)/);
  expect(out).toMatch(/✔ pass\s+reference\s+max \|Δ\|/);
  expect(out).toMatch(/demo-qwen\s+tiny-org\/qwen2-tiny\s+\S+\s+[\d.]+ [KMG]?B\s+(just now|\d+ seconds ago)/);
  expect(out).toContain('"demo-qwen" is intact and runs.');
  // The blob reuse: a second name of the same commit downloads nothing and shares the weights' inodes.
  expect(out).toMatch(/0 B to download, [\d.]+ KB already here/);
  expect(out).toContain('Weight bytes the hub served for the second import: 0.');
  expect(out).toMatch(/model-00001-of-00002\.safetensors: one file on disk \(inode \d+, \d+ names: the blob/);
  expect(out).toContain('Removed "demo-qwen-again"');
});
