/**
 * Ctrl-C while onnxruntime is in the middle of a forward pass, through the real CLI and the built-in plugins
 * against the fake hub. onnxruntime-node runs a call synchronously on its caller's thread; the validator runs
 * its sessions in a child process, so the CLI answers the signal while the call is still running.
 *
 * MODEL_IMPORT_ONNX_RUN_DELAY_MS makes that child busy-wait before each run (10 minutes here), standing in for a
 * long native call: had the run been on the CLI's thread, the CLI could not answer until the run ended and the
 * test would time out. No timing is asserted (the latency is measured by bench/ctrl-c.ts).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub, type RepoFiles } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { spawnCli, waitForStderr } from '../support/cli.js';
import { runInPty } from '../support/pty.js';
import { listTree, tempDir } from '../support/temp.js';

const TINY = 'tiny-org/qwen2-tiny';
const files: RepoFiles = makeTinyModel({ family: 'qwen2', seed: 31 });

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [{ id: TINY, files, cardData: { license: 'apache-2.0' } }] });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-ctrl-c-'));
});
afterEach(async () => cleanup());

const env = {
  HF_ENDPOINT: '',
  HF_HOME: '',
  HF_HUB_CACHE: '',
  HF_TOKEN: undefined,
  HUGGING_FACE_HUB_TOKEN: undefined,
  MODEL_IMPORT_ONNX_RUN_DELAY_MS: String(10 * 60_000),
};
const envFor = () => ({ ...env, HF_ENDPOINT: hub.url, HF_HOME: path.join(project, 'hf-home'), HF_HUB_CACHE: path.join(project, 'hf-cache') });
const models = () => path.join(project, 'models');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** pid -> [parent pid, state, command line] of every process. */
async function processes(): Promise<Map<number, { ppid: number; state: string; cmdline: string }>> {
  const all = new Map<number, { ppid: number; state: string; cmdline: string }>();
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const cmdline = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (!stat) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    all.set(Number(name), { ppid: Number(fields[1]), state: fields[0], cmdline: cmdline.replace(/\0/g, ' ') });
  }
  return all;
}

/** The validator's onnxruntime process under `ancestor` (the CLI or the terminal running it). */
async function onnxChildOf(ancestor: number): Promise<number[]> {
  const all = await processes();
  const under = (pid: number): boolean => {
    for (let p = all.get(pid)?.ppid; p && p > 1; p = all.get(p)?.ppid) if (p === ancestor) return true;
    return false;
  };
  return [...all].filter(([pid, p]) => p.cmdline.includes('onnx-process-child') && under(pid)).map(([pid]) => pid);
}

/** Resolves once `pid` has ended (gone, or a zombie waiting to be reaped). */
async function ended(pid: number): Promise<void> {
  for (;;) {
    const p = (await processes()).get(pid);
    if (!p || p.state === 'Z') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a Ctrl-C during validation must leave: no model, no staging, the verified download in the blob store. */
async function expectNothingRegisteredBytesKept(): Promise<void> {
  const tree = await listTree(models());
  expect(tree.filter((p) => !p.startsWith('.blobs') && p !== '.staging' && p !== 'registry.json.lock')).toEqual([]);
  expect(await fs.readdir(path.join(models(), '.staging')).catch(() => [])).toEqual([]);
  const blob = path.join(models(), '.blobs', 'sha256', sha256(files['model.safetensors'] as Uint8Array));
  expect(await fs.readFile(blob)).toEqual(Buffer.from(files['model.safetensors'] as Uint8Array));
}

describe('Ctrl-C during the forward pass', () => {
  it('SIGINT to the CLI while onnxruntime runs: the CLI kills its onnxruntime process and exits 130, neutral, bytes kept', async () => {
    const { child, done } = spawnCli(['import-model', TINY, '--yes'], { cwd: project, env: envFor() });
    await waitForStderr(child, '… logits', 120_000);
    const [onnx] = await onnxChildOf(child.pid!);
    expect(onnx, 'the forward pass runs in a child process').toBeGreaterThan(0);
    child.kill('SIGINT');
    const stopped = await done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/\nImport interrupted; nothing was registered\.\nhint: [^\n]+\n$/);
    expect(stopped.stderr).not.toMatch(/error:|failed|onnxruntime/);
    await ended(onnx!);
    await expectNothingRegisteredBytesKept();
  });

  it('Ctrl-C at a terminal while onnxruntime runs: the bars stay, one neutral line, exit 130, bytes kept', async () => {
    const run = runInPty(['import-model', TINY, '--yes'], { cwd: project, env: envFor() });
    await run.waitFor('… logits', 120_000);
    const [onnx] = await onnxChildOf(process.pid); // under this test: the terminal, the CLI, then it
    expect(onnx, 'the forward pass runs in a child process').toBeGreaterThan(0);
    run.type('\x03');
    const { code, screen } = await run.done;
    expect(code, screen).toBe(130);
    // What was drawn stays (the download's last bars, the checks shown so far), the message below it.
    expect(screen).toMatch(/download \(total\)[^\n]*100%/);
    expect(screen).toMatch(/✔ load[^\n]*\n[^\n]*… logits\n+(\^C\n*)?Import interrupted; nothing was registered\.\nhint: /);
    expect(screen).not.toMatch(/error:|validate failed|onnxruntime run failed/);
    await ended(onnx!);
    await expectNothingRegisteredBytesKept();
  });
});
