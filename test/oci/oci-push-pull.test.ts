/**
 * Push and pull through a real registry (Debian's docker-registry, distribution 2.8, htpasswd auth) with the
 * real CLI: a model imported from the fake hub is pushed as a ModelPack artifact (config checked against the
 * spec's JSON schema), pushed again (nothing uploaded), and imported into a second models folder from
 * oci:// with identical files and metadata, validated again. Plus: 401 without credentials, foreign
 * artifacts and escaping file paths refused with nothing registered.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { runCli } from '../support/cli.js';
import { listTree, tempDir } from '../support/temp.js';
import { ociCliEnv } from './oci-cli-env.js';
import { registryAvailable, startRegistry, type RealRegistry } from '../../plugins/oci-registry/test-support/real-registry.js';
import schema from '../fixtures/modelpack/config-schema.json' with { type: 'json' };

// ajv is CommonJS; its default export does not survive NodeNext typing, so load it as Node does.
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as typeof import('ajv').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

const available = registryAvailable();
if (!available) console.warn('docker-registry or htpasswd missing: the OCI push/pull tests are skipped (.ci/run installs them)');

let hub: FakeHub;
let registry: RealRegistry;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  if (!available) return;
  hub = await startFakeHub({ repos: [{ id: 'tiny-org/qwen2-tiny', files: makeTinyModel({ family: 'qwen2', seed: 21 }), cardData: { license: 'apache-2.0' } }] });
  registry = await startRegistry();
  ({ dir: project, cleanup } = await tempDir('model-import-oci-'));
  await fs.mkdir(path.join(project, 'docker'));
});
afterAll(async () => {
  await hub?.close();
  await registry?.close();
  await cleanup?.();
});

const baseEnv = () => ociCliEnv(hub, registry, project);
const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: project, env: { ...baseEnv(), ...env } });
const basic = () => `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;

async function getJson(url: string, accept = 'application/vnd.oci.image.manifest.v1+json'): Promise<Record<string, any>> {
  const response = await fetch(url, { headers: { authorization: basic(), accept } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, any>;
}

async function putBlob(repo: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const post = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: basic() } });
  const location = new URL(post.headers.get('location')!, registry.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { authorization: basic(), 'content-type': 'application/octet-stream' } });
  expect(put.status).toBe(201);
  return digest;
}

async function putManifest(repo: string, tag: string, manifest: unknown): Promise<void> {
  const response = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: JSON.stringify(manifest),
    headers: { authorization: basic(), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(response.status, await response.text()).toBe(201);
}

describe.skipIf(!available)('push and pull through docker-registry', () => {
  const modelsA = () => path.join(project, 'models-a');
  const modelsB = () => path.join(project, 'models-b');
  const target = () => `${registry.host}/team/qwen2-tiny:v1`;

  it('imports from the hub, pushes a schema-valid ModelPack artifact, re-pushes nothing, pulls identical files and metadata', async () => {
    const imported = await cli(['import-model', 'tiny-org/qwen2-tiny', '--yes', '--models-dir', modelsA(), '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const original = JSON.parse(imported.stdout).model;

    const pushed = await cli(['push', 'qwen2-tiny', target(), '--models-dir', modelsA(), '--json', '--chunk-size', '64KB']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const first = JSON.parse(pushed.stdout).pushed;
    expect(first.blobs.uploaded).toBeGreaterThan(3);
    expect(pushed.stdout + pushed.stderr).not.toContain(registry.password);

    // The artifact as the spec describes it.
    const manifest = await getJson(`${registry.url}/v2/team/qwen2-tiny/manifests/v1`);
    expect(manifest.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.model.config.v1+json');
    const config = await getJson(`${registry.url}/v2/team/qwen2-tiny/blobs/${manifest.config.digest}`, '*/*');
    const { $schema: _ignored, ...draft } = schema as Record<string, unknown>;
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(draft);
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(config.modelfs.diffIds).toEqual(manifest.layers.map((l: { digest: string }) => l.digest));
    expect(config.descriptor).toEqual(expect.objectContaining({ family: 'qwen2', licenses: ['apache-2.0'], revision: original.provenance.commit, sourceURL: expect.stringContaining('tiny-org/qwen2-tiny') }));
    expect(config.config).toEqual(expect.objectContaining({ format: 'safetensors', precision: original.conversion.dtype, paramSize: expect.any(String) }));
    const byPath = Object.fromEntries(manifest.layers.map((l: { annotations: Record<string, string> }) => [l.annotations['org.cncf.model.filepath'], l]));
    expect(byPath['model.safetensors'].mediaType).toBe('application/vnd.cncf.model.weight.v1.raw');
    expect(byPath['config.json'].mediaType).toBe('application/vnd.cncf.model.weight.config.v1.raw');
    expect(byPath['model-import-record.json'].mediaType).toBe('application/vnd.cncf.model.doc.v1.raw');
    for (const file of original.files) expect(byPath[file.path]?.digest, file.path).toBe(`sha256:${file.sha256}`);
    expect(manifest.annotations['io.model-import.model-id']).toBe('tiny-org/qwen2-tiny');
    expect(manifest.annotations['io.model-import.license-acknowledged-at']).toBe(original.license.acknowledged_at);

    // Unchanged model: every blob already there, the same manifest.
    const again = await cli(['push', 'qwen2-tiny', target(), '--models-dir', modelsA(), '--json']);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout).pushed;
    expect(second.blobs).toEqual({ uploaded: 0, resumed: 0, mounted: 0, present: first.blobs.uploaded });
    expect(second.bytesUploaded).toBe(0);
    expect(second.digest).toBe(first.digest);
    // Another repository of the same registry: mounted, not uploaded.
    const mounted = await cli(['push', 'qwen2-tiny', `${registry.host}/other/qwen2-tiny:v1`, '--models-dir', modelsA(), '--json']);
    expect(mounted.code, mounted.stderr).toBe(0);
    expect(JSON.parse(mounted.stdout).pushed.blobs.uploaded).toBe(0);

    // Pull into a second models folder, by digest.
    const pulled = await cli(['import-model', `oci://${registry.host}/team/qwen2-tiny@${first.digest}`, '--yes', '--models-dir', modelsB(), '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const copy = JSON.parse(pulled.stdout).model;
    for (const key of ['model_name', 'model_id', 'architecture_type', 'model_size'] as const) expect(copy[key], key).toEqual(original[key]);
    // The license travels; this folder's user acknowledged it anew, the first acknowledgement is kept beside it.
    expect({ ...copy.license, acknowledged_at: null }).toEqual({ ...original.license, acknowledged_at: null });
    expect(copy.oci.upstream_license_acknowledged_at).toBe(original.license.acknowledged_at);
    expect(copy.provenance.commit).toBe(original.provenance.commit);
    expect(copy.source).toBe('oci');
    expect(copy.oci).toEqual(expect.objectContaining({ pulled_from: `${registry.host}/team/qwen2-tiny@${first.digest}`, upstream_source: 'huggingface' }));
    expect(copy.validation.skipped).toBe(false);
    expect(copy.validation.findings.length).toBeGreaterThan(0);
    expect(copy.files).toEqual(original.files);
    for (const file of original.files) {
      const a = await fs.readFile(path.join(modelsA(), 'qwen2-tiny', file.path));
      const b = await fs.readFile(path.join(modelsB(), 'qwen2-tiny', file.path));
      expect(Buffer.compare(a, b), file.path).toBe(0);
    }

    // list: where it came from, and where it was pushed.
    const listA = await cli(['list', '--models-dir', modelsA()]);
    expect(listA.stdout).toContain(`${registry.host}/team/qwen2-tiny:v1`);
    expect(listA.stdout).toContain(`${registry.host}/other/qwen2-tiny:v1`);
    const listB = await cli(['list', '--models-dir', modelsB()]);
    expect(listB.stdout).toContain(`oci://${registry.host}/team/qwen2-tiny@${first.digest}`);
    const metadata = JSON.parse(await fs.readFile(path.join(modelsA(), 'qwen2-tiny', 'metadata.json'), 'utf8'));
    expect(metadata.pushed_to.map((p: { reference: string }) => p.reference)).toContain(target());
    for (const rel of await listTree(project)) {
      const full = path.join(project, rel);
      if ((await fs.stat(full)).isFile() && !rel.startsWith('docker')) expect((await fs.readFile(full)).includes(registry.password), rel).toBe(false);
    }
  });

  it('imports a ModelPack artifact made by another tool (no record layer, no annotations of ours) when it holds a supported model', async () => {
    const ours = await getJson(`${registry.url}/v2/team/qwen2-tiny/manifests/v1`);
    const layers = ours.layers
      .filter((l: { annotations: Record<string, string> }) => !l.annotations['io.model-import.record'] && !l.annotations['org.cncf.model.filepath'].startsWith('onnx/'))
      .map((l: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, annotations: { 'org.cncf.model.filepath': l.annotations['org.cncf.model.filepath'] } }));
    const config = Buffer.from(JSON.stringify({ descriptor: { name: 'qwen2-tiny', family: 'qwen2', licenses: ['apache-2.0'] }, config: { format: 'safetensors' }, modelfs: { type: 'layers', diffIds: layers.map((l: { digest: string }) => l.digest) } }));
    const configDigest = await putBlob('team/qwen2-tiny', config);
    await putManifest('team/qwen2-tiny', 'other-tool', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.cncf.model.manifest.v1+json',
      config: { mediaType: 'application/vnd.cncf.model.config.v1+json', digest: configDigest, size: config.length },
      layers,
    });
    const models = path.join(project, 'models-other-tool');
    const result = await cli(['import-model', `oci://${registry.host}/team/qwen2-tiny:other-tool`, '--yes', '--models-dir', models, '--name', 'from-other-tool', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const model = JSON.parse(result.stdout).model;
    expect(model).toEqual(expect.objectContaining({ model_id: 'qwen2-tiny', source: 'oci', architecture_type: 'qwen2' }));
    expect(model.license.id).toBe('apache-2.0');
    expect(model.oci.upstream_source).toBeNull();
    const a = await fs.readFile(path.join(modelsA(), 'qwen2-tiny', 'model.safetensors'));
    const b = await fs.readFile(path.join(models, 'from-other-tool', 'model.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('refuses a file over the layer limit before sending anything (exit 11, with the reshard hint)', async () => {
    const result = await cli(['push', 'qwen2-tiny', `${registry.host}/team/too-big:v1`, '--models-dir', modelsA(), '--max-layer-size', '1KB']);
    expect(result.code, result.stderr).toBe(11);
    expect(result.stderr).toContain('over the registry layer limit');
    expect(result.stderr).toContain('--max-shard-size');
    const response = await fetch(`${registry.url}/v2/team/too-big/tags/list`, { headers: { authorization: basic() } });
    expect(response.status).toBe(404);
  });

  it('without credentials the registry\'s 401 is a clear error, exit 4', async () => {
    const result = await cli(['push', 'qwen2-tiny', `${registry.host}/team/nocreds:v1`, '--models-dir', modelsA()], {
      MODEL_IMPORT_REGISTRY_USERNAME: undefined,
      MODEL_IMPORT_REGISTRY_PASSWORD: undefined,
    });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toContain('asks for credentials (401)');
    const pull = await cli(['import-model', `oci://${target()}`, '--yes', '--models-dir', path.join(project, 'models-c')], {
      MODEL_IMPORT_REGISTRY_USERNAME: undefined,
      MODEL_IMPORT_REGISTRY_PASSWORD: undefined,
    });
    expect(pull.code).toBe(4);
  });

  it('refuses a foreign artifact, and a layer whose file path escapes, with nothing registered (exit 11)', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await putBlob('team/foreign', config);
    const layerBytes = Buffer.from('hello');
    const layerDigest = await putBlob('team/foreign', layerBytes);
    await putManifest('team/foreign', 'v1', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layerBytes.length }],
    });
    const models = path.join(project, 'models-d');
    const foreign = await cli(['import-model', `oci://${registry.host}/team/foreign:v1`, '--yes', '--models-dir', models]);
    expect(foreign.code, foreign.stderr).toBe(11);
    expect(foreign.stderr).toContain('not a CNCF ModelPack model');

    // The pushed artifact, with one file path rewritten to escape the model folder.
    const manifest = await getJson(`${registry.url}/v2/team/qwen2-tiny/manifests/v1`);
    const evil = structuredClone(manifest);
    evil.layers.find((l: { annotations: Record<string, string> }) => l.annotations['org.cncf.model.filepath'] === 'tokenizer.json').annotations['org.cncf.model.filepath'] = '../../escaped.json';
    await putManifest('team/qwen2-tiny', 'evil', evil);
    const escaped = await cli(['import-model', `oci://${registry.host}/team/qwen2-tiny:evil`, '--yes', '--models-dir', models]);
    expect(escaped.code, escaped.stderr).toBe(11);
    expect(escaped.stderr).toContain('escaped.json');
    expect((await listTree(models)).filter((p) => !p.startsWith('.'))).toEqual([]);
    await expect(fs.stat(path.join(project, 'escaped.json'))).rejects.toThrow();
  });
});
