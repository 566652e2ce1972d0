/**
 * The network between us and a real registry (docker-registry), made hostile by an in-process fault proxy:
 * 5xx answers and dropped connections during push and pull are retried and the result is identical; bytes
 * flipped in a blob are refused (exit 8) with nothing registered; a push killed mid-way finishes on rerun
 * without re-sending the blobs it had finished; a pull killed mid-blob resumes with a ranged request.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { runCli, spawnCli, waitForStderr } from '../support/cli.js';
import { listTree, tempDir } from '../support/temp.js';
import { ociCliEnv } from './oci-cli-env.js';
import { registryAvailable, startRegistry, type RealRegistry } from '../../plugins/oci-registry/test-support/real-registry.js';
import { startFaultProxy, type FaultProxy } from '../../plugins/oci-registry/test-support/fault-proxy.js';

const available = registryAvailable();

let hub: FakeHub;
let registry: RealRegistry;
let project: string;
let cleanup: () => Promise<void>;
let original: { files: { path: string; sha256: string; size: number }[] };
const proxies: FaultProxy[] = [];

const baseEnv = () => ociCliEnv(hub, registry, project);
const cli = (args: string[]) => runCli(args, { cwd: project, env: baseEnv() });
const modelsA = () => path.join(project, 'models-a');
async function proxy(): Promise<FaultProxy> {
  const p = await startFaultProxy(registry.url);
  proxies.push(p);
  return p;
}
const weights = () => original.files.find((f) => f.path === 'model.safetensors')!;

beforeAll(async () => {
  if (!available) return;
  // Big enough (a few MB of weights) that a throttled transfer can be caught half way.
  hub = await startFakeHub({ repos: [{ id: 'tiny-org/qwen2-tiny', files: makeTinyModel({ family: 'qwen2', seed: 31 }), cardData: { license: 'apache-2.0' } }] });
  registry = await startRegistry();
  ({ dir: project, cleanup } = await tempDir('model-import-oci-faults-'));
  await fs.mkdir(path.join(project, 'docker'));
  const imported = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--models-dir', modelsA(), '--json']);
  expect(imported.code, imported.stderr).toBe(0);
  original = JSON.parse(imported.stdout).model;
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  await hub?.close();
  await registry?.close();
  await cleanup?.();
});

describe.skipIf(!available)('OCI transfers through a fault proxy', () => {
  it('retries 5xx and dropped connections on push and pull; the pulled files are identical', async () => {
    const p = await proxy();
    p.rules.push(
      { method: 'POST', path: /\/blobs\/uploads\/$/, times: 2, fault: 'status-503' },
      { method: 'PATCH', path: /\/blobs\/uploads\//, times: 1, fault: 'drop-request' },
      { method: 'PUT', path: /\/manifests\//, times: 1, fault: 'status-503' },
    );
    const pushed = await cli(['push', 'qwen2-tiny', `${p.host}/team/faulty:v1`, '--models-dir', modelsA(), '--json', '--chunk-size', '64KB']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(p.rules.every((r) => r.times === 0)).toBe(true);

    p.rules.push(
      { method: 'GET', path: /\/manifests\//, times: 1, fault: 'status-503' },
      { method: 'GET', path: new RegExp(`/blobs/sha256:${weights().sha256}$`), times: 2, fault: 'drop-response' },
    );
    const modelsB = path.join(project, 'models-b');
    const pulled = await cli(['import-model', `oci://${p.host}/team/faulty:v1`, '--yes', '--models-dir', modelsB, '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(p.rules.every((r) => r.times === 0)).toBe(true);
    // The second attempt after a drop asked only for the rest.
    expect(p.log.some((l) => l.path.endsWith(weights().sha256) && new RegExp(`^bytes=[1-9]\\d*-${weights().size - 1}$`).test(l.range ?? ''))).toBe(true);
    for (const file of original.files) {
      const a = await fs.readFile(path.join(modelsA(), 'qwen2-tiny', file.path));
      const b = await fs.readFile(path.join(modelsB, 'qwen2-tiny', file.path));
      expect(Buffer.compare(a, b), file.path).toBe(0);
    }
  });

  it('a blob whose bytes do not match its digest is refused, exit 8, nothing registered and no partial kept', async () => {
    const p = await proxy();
    const pushed = await cli(['push', 'qwen2-tiny', `${p.host}/team/corrupt:v1`, '--models-dir', modelsA()]);
    expect(pushed.code, pushed.stderr).toBe(0);
    p.rules.push({ method: 'GET', path: new RegExp(`/blobs/sha256:${weights().sha256}$`), times: 100, fault: 'corrupt' });
    const models = path.join(project, 'models-corrupt');
    const pulled = await cli(['import-model', `oci://${p.host}/team/corrupt:v1`, '--yes', '--models-dir', models]);
    expect(pulled.code, pulled.stderr).toBe(8);
    expect(pulled.stderr).toContain('does not match its digest');
    const tree = await listTree(models);
    expect(tree.filter((t) => !t.startsWith('.'))).toEqual([]);
    expect(tree.filter((t) => t.includes(weights().sha256))).toEqual([]);
  });

  it('a push killed half way finishes on rerun without sending its finished blobs again', async () => {
    // A registry host this model was never pushed to (no mount), slow uploads to catch it in flight.
    const p = await proxy();
    p.rules.push({ method: 'PATCH', path: /\/blobs\/uploads\//, times: 10_000, fault: 'delay', delayMs: 40 });
    const target = `${p.host}/team/killed:v1`;
    const { child, done } = spawnCli(['push', 'qwen2-tiny', target, '--models-dir', modelsA(), '--chunk-size', '16KB', '--parallel', '1'], { cwd: project, env: baseEnv() });
    await waitForStderr(child, /uploaded\s+model\.safetensors/);
    child.kill('SIGKILL');
    await done;
    p.rules.length = 0;
    const rerun = await cli(['push', 'qwen2-tiny', target, '--models-dir', modelsA(), '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const blobLines = rerun.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(blobLines.find((b) => b.path === 'model.safetensors')?.outcome).toBe('present');
    const { blobs } = JSON.parse(rerun.stdout).pushed;
    expect(blobs.present).toBeGreaterThanOrEqual(1);
  });

  it('a pull killed mid-blob (a real child, SIGKILL) resumes from its partial in the blob store with a ranged request', async () => {
    const p = await proxy();
    const pushed = await cli(['push', 'qwen2-tiny', `${p.host}/team/slowpull:v1`, '--models-dir', modelsA()]);
    expect(pushed.code, pushed.stderr).toBe(0);
    p.rules.push({ method: 'GET', path: new RegExp(`/blobs/sha256:${weights().sha256}$`), times: 1, fault: 'slow', delayMs: 200 });
    const models = path.join(project, 'models-killed-pull');
    const spec = `oci://${p.host}/team/slowpull:v1`;
    const { child, done } = spawnCli(['import-model', spec, '--yes', '--models-dir', models, '--json'], { cwd: project, env: baseEnv() });
    // The hub source's partial format: <sha256>.part with a <sha256>.json record of the ranges on disk.
    const record = path.join(models, '.blobs', 'partial', `${weights().sha256}.json`);
    const kept = async () => {
      const text = await fs.readFile(record, 'utf8').catch(() => '{"done":[]}');
      return (JSON.parse(text) as { done: [number, number][] }).done;
    };
    for (let i = 0; i < 600; i++) {
      if ((await kept()).some(([a, b]) => a === 0 && b > 32 * 1024)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await done;
    const [[, end]] = await kept();
    expect(end).toBeGreaterThan(0);
    expect(end).toBeLessThan(weights().size);
    const rerun = await cli(['import-model', spec, '--yes', '--models-dir', models, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(p.log.some((l) => l.path.endsWith(weights().sha256) && l.range === `bytes=${end}-${weights().size - 1}`)).toBe(true);
    const bytes = await fs.readFile(path.join(models, 'qwen2-tiny', 'model.safetensors'));
    expect(Buffer.compare(bytes, await fs.readFile(path.join(modelsA(), 'qwen2-tiny', 'model.safetensors')))).toBe(0);
    // Verified into the store and linked from there; no partial left.
    const stat = await fs.stat(path.join(models, 'qwen2-tiny', 'model.safetensors'));
    expect(stat.ino).toBe((await fs.stat(path.join(models, '.blobs', 'sha256', weights().sha256))).ino);
    expect(await fs.readdir(path.join(models, '.blobs', 'partial'))).toEqual([]);
  });

  it('two pulls of the same model at once (two processes, one models folder) fetch its blobs once', async () => {
    const p = await proxy();
    const pushed = await cli(['push', 'qwen2-tiny', `${p.host}/team/twice:v1`, '--models-dir', modelsA()]);
    expect(pushed.code, pushed.stderr).toBe(0);
    p.log.length = 0;
    // Slow enough that the second pull reaches the weights while the first still downloads them.
    p.rules.push({ method: 'GET', path: new RegExp(`/blobs/sha256:${weights().sha256}$`), times: 1, fault: 'slow', delayMs: 5 });
    const models = path.join(project, 'models-twice');
    const spec = `oci://${p.host}/team/twice:v1`;
    const [a, b] = await Promise.all(['one', 'two'].map((name) => cli(['import-model', spec, '--yes', '--models-dir', models, '--name', name, '--json'])));
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const served = p.log.filter((l) => l.method === 'GET' && l.path.endsWith(weights().sha256) && l.status !== 401);
    expect(served.reduce((sum, l) => sum + l.bytes, 0)).toBe(weights().size);
    const one = await fs.stat(path.join(models, 'one', 'model.safetensors'));
    const two = await fs.stat(path.join(models, 'two', 'model.safetensors'));
    expect(one.ino).toBe(two.ino);
  });

  it('a pull into a models folder that has the files from a hub import fetches no layer blob; a hub import after a pull downloads nothing', async () => {
    const p = await proxy();
    const pushed = await cli(['push', 'qwen2-tiny', `${p.host}/team/shared:v1`, '--models-dir', modelsA()]);
    expect(pushed.code, pushed.stderr).toBe(0);
    p.log.length = 0;
    const pulled = await cli(['import-model', `oci://${p.host}/team/shared:v1`, '--yes', '--models-dir', modelsA(), '--name', 'from-oci', '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    // Resolve reads the small metadata blobs (config, config.json, record); no layer is fetched by the fetch stage.
    const layerGets = p.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/') && l.status !== 401);
    const small = new Set(['config.json']);
    for (const file of original.files.filter((f) => !small.has(f.path))) {
      expect(layerGets.filter((l) => l.path.endsWith(file.sha256)).map((l) => l.path), file.path).toEqual([]);
    }

    // The other way round: pull into a fresh folder, then import the same model from the hub there.
    const models = path.join(project, 'models-pull-then-hub');
    const first = await cli(['import-model', `oci://${p.host}/team/shared:v1`, '--yes', '--models-dir', models, '--json']);
    expect(first.code, first.stderr).toBe(0);
    hub.requests.length = 0;
    const weightBytes = hub.weightBytesServed();
    const fromHub = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--models-dir', models, '--name', 'from-hub', '--json']);
    expect(fromHub.code, fromHub.stderr).toBe(0);
    expect(hub.weightBytesServed()).toBe(weightBytes);
    // Only what the hub source's resolve reads (config.json, the LICENSE probe); no file is downloaded.
    const fetched = new Set(hub.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()));
    expect([...fetched].sort()).toEqual(['LICENSE', 'config.json']);
    expect(fromHub.stderr).toContain('already here');
  });
});
