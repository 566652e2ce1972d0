/**
 * Never the same byte twice, through the real CLI against the fake hub, counting what the hub serves:
 * - a second name of the same repo and commit downloads nothing and shares the first one's inodes;
 * - `remove` frees blobs only once no model uses them;
 * - blobs already in the user's Hugging Face cache are taken (after a hash check), never written to;
 * - Ctrl-C (SIGINT) or SIGTERM during validation keeps the verified download: the rerun fetches nothing.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub, type RepoFiles } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { runCli, spawnCli, waitForStderr } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

const TINY = 'tiny-org/qwen2-tiny';
const SHARDED = 'tiny-org/qwen3-sharded';
const TWINS = 'tiny-org/qwen2-twin-files';
const twins = makeTinyModel({ family: 'qwen2', seed: 23 });
const files: Record<string, RepoFiles> = {
  [TINY]: makeTinyModel({ family: 'qwen2', seed: 21 }),
  [SHARDED]: makeTinyModel({ family: 'qwen3', seed: 22, shards: 2 }),
  // Two paths, one content: downloaded and stored once, so counted once in the sizes shown.
  [TWINS]: { ...twins, 'added_tokens.json': twins['tokenizer_config.json'] },
};
/** What resolve itself reads to plan the import (config.json, the license excerpt): not part of the fetch. */
const RESOLVE_READS = /\/(config\.json|LICENSE)$/;

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  hub = await startFakeHub({ repos: Object.entries(files).map(([id, f]) => ({ id, files: f, cardData: { license: 'apache-2.0' } })) });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-blobs-'));
});
afterEach(async () => cleanup());

const env = (extra: Record<string, string> = {}) => ({
  HF_ENDPOINT: hub.url,
  HF_HOME: path.join(project, 'hf-home'),
  HF_HUB_CACHE: path.join(project, 'hf-cache'),
  HF_TOKEN: undefined,
  HUGGING_FACE_HUB_TOKEN: undefined,
  ...extra,
});
const cli = (args: string[]) => runCli(args, { cwd: project, env: env() });
const models = () => path.join(project, 'models');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const gitOid = (bytes: Uint8Array) => createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');

/** Bytes the hub sent for /resolve requests of the fetch stage while `run` ran. */
async function fetchBytesDuring<T>(run: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const before = hub.requests.length;
  const result = await run();
  const bytes = hub.requests
    .slice(before)
    .filter((r) => r.path.includes('/resolve/') && !RESOLVE_READS.test(r.path))
    .reduce((sum, r) => sum + r.bytesSent, 0);
  return { result, bytes };
}

async function blobNames(): Promise<string[]> {
  return (await fs.readdir(path.join(models(), '.blobs', 'sha256'))).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

describe('blob store', () => {
  it('a second name of the same commit downloads nothing, costs the disk once, and remove frees blobs only when unused', async () => {
    const first = await fetchBytesDuring(() => cli(['import-model', TINY, '--yes', '--name', 'one']));
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(first.bytes).toBeGreaterThan(150_000);

    const second = await fetchBytesDuring(() => cli(['import-model', TINY, '--yes', '--name', 'two']));
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(second.bytes).toBe(0);
    expect(second.result.stderr).toMatch(/0 B to download, [\d.]+ KB already here/);

    const weights = files[TINY]['model.safetensors'];
    const blob = path.join(models(), '.blobs', 'sha256', sha256(weights));
    const [a, b, s] = await Promise.all(
      [path.join(models(), 'one', 'model.safetensors'), path.join(models(), 'two', 'model.safetensors'), blob].map((p) => fs.stat(p)),
    );
    expect(a.ino).toBe(s.ino);
    expect(b.ino).toBe(s.ino);

    const removeOne = await cli(['remove', 'one', '--yes']);
    expect(removeOne.code, removeOne.stderr).toBe(0);
    expect(await blobNames()).toContain(sha256(weights)); // "two" still links it
    expect(await fs.readFile(path.join(models(), 'two', 'model.safetensors'))).toEqual(Buffer.from(weights));

    const removeTwo = await cli(['remove', 'two', '--yes', '--json']);
    expect(removeTwo.code, removeTwo.stderr).toBe(0);
    expect(JSON.parse(removeTwo.stdout).bytes_freed).toBeGreaterThanOrEqual(weights.byteLength);
    expect(await blobNames()).toEqual([]);
  });

  it('a blob altered through a model folder is not reused: the next import downloads it again', async () => {
    expect((await cli(['import-model', TINY, '--yes', '--name', 'one'])).code).toBe(0);
    const weights = files[TINY]['model.safetensors'];
    const damaged = Buffer.from(weights);
    damaged[damaged.byteLength - 1] ^= 0xff;
    await fs.writeFile(path.join(models(), 'one', 'model.safetensors'), damaged); // the same inode as the blob
    const second = await fetchBytesDuring(() => cli(['import-model', TINY, '--yes', '--name', 'two']));
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(second.result.stderr).toContain('was altered since it was verified; downloading it again');
    expect(second.bytes).toBe(weights.byteLength);
    expect(await fs.readFile(path.join(models(), 'two', 'model.safetensors'))).toEqual(Buffer.from(weights));
    const verify = await cli(['verify', 'one']);
    expect(verify.code).not.toBe(0); // the damaged model is still reported by verify
  });

  it('two imports of the same file at once download it once: the second waits, then links the blob', async () => {
    hub.setThrottle(150_000); // the first holds the partial's lock long enough for the second to wait on it
    try {
      const weightsBefore = hub.weightBytesServed(TINY);
      const runs = await Promise.all(['x', 'y'].map((name) => cli(['import-model', TINY, '--yes', '--name', name])));
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(hub.weightBytesServed(TINY) - weightsBefore).toBe(files[TINY]['model.safetensors'].byteLength);
      expect(await fs.readdir(path.join(models(), '.blobs', 'partial'))).toEqual([]);
    } finally {
      hub.setThrottle(undefined);
    }
  });

  it('takes blobs from the Hugging Face cache after checking their hash, and never writes there', async () => {
    const repoFolder = path.join(project, 'hf-cache', `models--${SHARDED.replace('/', '--')}`);
    const shards = Object.keys(files[SHARDED]).filter((p) => p.endsWith('.safetensors')).sort();
    expect(shards.length).toBe(2);
    await fs.mkdir(path.join(repoFolder, 'blobs'), { recursive: true });
    const cached: string[] = [];
    for (const [i, shard] of shards.entries()) {
      const bytes = Buffer.from(files[SHARDED][shard]);
      if (i === 1) bytes[100] ^= 0xff; // a damaged cache blob: same name and size, wrong bytes
      const file = path.join(repoFolder, 'blobs', sha256(files[SHARDED][shard]));
      await fs.writeFile(file, bytes);
      cached.push(file);
    }
    // Small (non-LFS) files are in the cache under their git blob id.
    for (const [name, bytes] of Object.entries(files[SHARDED])) {
      if (name.endsWith('.safetensors')) continue;
      const file = path.join(repoFolder, 'blobs', gitOid(bytes));
      await fs.writeFile(file, bytes);
      cached.push(file);
    }
    const before = await Promise.all(cached.map(async (f) => ({ bytes: await fs.readFile(f), mtime: (await fs.stat(f)).mtimeMs })));
    const listing = async () => (await fs.readdir(path.join(repoFolder, 'blobs'))).sort();
    const names = await listing();

    const weightsBefore = hub.weightBytesServed(SHARDED);
    const { result: run, bytes } = await fetchBytesDuring(() => cli(['import-model', SHARDED, '--yes']));
    expect(run.code, run.stderr).toBe(0);
    expect(bytes).toBe(files[SHARDED][shards[1]].byteLength); // nothing else: small files came from the cache too
    expect(run.stderr).toMatch(/already here \([\d.]+ KB of it in the Hugging Face cache\)/);
    expect(run.stderr).toContain('does not match its hash; downloading it');
    // Only the damaged shard came over the network.
    expect(hub.weightBytesServed(SHARDED) - weightsBefore).toBe(files[SHARDED][shards[1]].byteLength);
    for (const shard of shards) {
      expect(await fs.readFile(path.join(models(), 'qwen3-sharded', shard))).toEqual(Buffer.from(files[SHARDED][shard]));
    }
    expect(await fs.readFile(path.join(models(), 'qwen3-sharded', 'tokenizer.json'))).toEqual(Buffer.from(files[SHARDED]['tokenizer.json']));
    for (const [i, file] of cached.entries()) {
      expect(await fs.readFile(file)).toEqual(before[i].bytes);
      expect((await fs.stat(file)).mtimeMs).toBe(before[i].mtime);
    }
    expect(await listing()).toEqual(names);
  });

  it('counts files of the same content once in the planned size', async () => {
    const run = await cli(['import-model', TWINS, '--yes', '--json', '--skip-validation']);
    expect(run.code, run.stderr).toBe(0);
    const plan = run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.type === 'plan');
    const selected = (JSON.parse(run.stdout).model.provenance.source_files as { path: string }[]).map((f) => f.path);
    expect(selected).toContain('added_tokens.json');
    const bytes = (name: string) => files[TWINS][name] as Uint8Array;
    const unique = new Map(selected.map((name) => [sha256(bytes(name)), bytes(name).byteLength]));
    expect(plan.totalBytes).toBe([...unique.values()].reduce((a, b) => a + b, 0));
    expect(plan.totalBytes).toBeLessThan(selected.reduce((sum, name) => sum + bytes(name).byteLength, 0));
  });

  it('gc hashes every blob once, frees the blobs no model uses, and takes a damaged one out naming its model', async () => {
    expect((await cli(['import-model', TINY, '--yes', '--skip-validation'])).code).toBe(0);
    const used = await blobNames();
    const clean = await cli(['gc']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^Checked ${used.length} blobs \\([\\d.]+ [KM]B\\) in [\\d.]+ s: all intact\\.\\nFreed 0 blobs no model uses \\(0 B\\)\\.\\n$`));
    expect(await blobNames()).toEqual(used);

    // A blob no model links or lists (left by a removed import), and a weight changed through the model's link.
    const orphan = Buffer.from('bytes of a model removed long ago');
    await fs.writeFile(path.join(models(), '.blobs', 'sha256', sha256(orphan)), orphan);
    const weights = path.join(models(), 'qwen2-tiny', 'model.safetensors');
    await fs.chmod(weights, 0o644);
    const handle = await fs.open(weights, 'r+');
    await handle.write(Buffer.from([0xff]), 0, 1, 1000);
    await handle.close();
    const gc = await cli(['gc', '--json']);
    expect(gc.code, gc.stderr).toBe(12);
    const weightsSha = sha256(files[TINY]['model.safetensors'] as Uint8Array);
    expect(JSON.parse(gc.stdout)).toMatchObject({
      ok: false,
      checked: used.length + 1,
      damaged: [{ sha256: weightsSha, models: ['qwen2-tiny'] }],
      blobs_freed: 1,
      bytes_freed: orphan.byteLength,
    });
    expect(gc.stderr).toMatch(/error: 1 blob of .* no longer match their hash\.\nhint: [^\n]*re-import "qwen2-tiny"/);
    expect((await blobNames()).sort()).toEqual(used.filter((n) => n !== weightsSha).sort());
    expect(await fs.stat(weights)).toBeTruthy(); // the model's own file stays (verify shows the damage)
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during validation keeps the verified download: the rerun downloads nothing`, async () => {
      const { child, done } = spawnCli(['import-model', TINY, '--yes'], { cwd: project, env: env() });
      await waitForStderr(child, 'Validating...', 60_000);
      child.kill(signal);
      const stopped = await done;
      expect(stopped.code, stopped.stderr).toBe(code);
      expect(stopped.stderr).toContain('nothing was registered');
      await expect(fs.stat(path.join(models(), 'qwen2-tiny'))).rejects.toThrow();

      const rerun = await fetchBytesDuring(() => cli(['import-model', TINY, '--yes']));
      expect(rerun.result.code, rerun.result.stderr).toBe(0);
      expect(rerun.bytes).toBe(0);
      expect(await fs.readFile(path.join(models(), 'qwen2-tiny', 'model.safetensors'))).toEqual(Buffer.from(files[TINY]['model.safetensors']));
    });
  }
});
