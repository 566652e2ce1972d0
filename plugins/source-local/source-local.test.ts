import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernel/kernel.js';
import { NonInteractivePrompter, Reporter, isModelImportError, type ImportOptions } from '../../src/index.js';
import { sourceLocal } from './index.js';
import { testArch } from '../../test/plugins/test-arch.js';
import { testValidator } from '../../test/plugins/test-validator.js';
import { makeTestModel, tempDir } from '../../test/support/temp.js';
import { createHash } from 'node:crypto';
import { makeTinyModel, writeRepoFiles } from '../../test/fixtures/tiny-models.js';
import { archQwen } from '../arch-qwen/index.js';
import { validatorForward } from '../validator-forward/index.js';

let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const kernel = () => new Kernel().use(sourceLocal()).use(testArch()).use(testValidator());
const options = (extra: Partial<ImportOptions> = {}): ImportOptions => ({ modelsDir: path.join(root, 'models'), yes: true, acceptLicense: false, skipValidation: false, ...extra });
const io = (env: Record<string, string | undefined> = {}) => ({ reporter: new Reporter(), prompter: new NonInteractivePrompter(), env });

/** Lays out a model folder as the HF cache does: blobs named by sha256, snapshot symlinks, refs/main. */
async function makeCache(cacheRoot: string, repoId: string, fromFolder: string): Promise<string> {
  const repoFolder = path.join(cacheRoot, `models--${repoId.replace('/', '--')}`);
  const commit = 'a'.repeat(40);
  const snapshot = path.join(repoFolder, 'snapshots', commit);
  await fs.mkdir(path.join(repoFolder, 'blobs'), { recursive: true });
  await fs.mkdir(snapshot, { recursive: true });
  await fs.mkdir(path.join(repoFolder, 'refs'), { recursive: true });
  await fs.writeFile(path.join(repoFolder, 'refs', 'main'), commit);
  for (const name of await fs.readdir(fromFolder)) {
    const bytes = await fs.readFile(path.join(fromFolder, name));
    const blob = createHash('sha256').update(bytes).digest('hex');
    await fs.writeFile(path.join(repoFolder, 'blobs', blob), bytes);
    await fs.symlink(path.join('..', '..', 'blobs', blob), path.join(snapshot, name));
  }
  return snapshot;
}

describe('local source', () => {
  it('imports the tiny Qwen fixture from a folder and from an HF-cache tree: same weights and metadata but the source', async () => {
    const folder = path.join(root, 'qwen2-tiny');
    await writeRepoFiles(folder, makeTinyModel({ family: 'qwen2', seed: 5 }));
    const real = () => new Kernel().use(sourceLocal()).use(archQwen()).use(validatorForward());
    const local = await real().importModel({ spec: folder, options: options({ name: 'from-folder' }) }, io());
    const snapshot = await makeCache(path.join(root, 'hub'), 'tiny-org/qwen2-tiny', folder);
    const cached = await real().importModel({ spec: snapshot, options: options({ name: 'from-cache' }) }, io());
    expect(local.validation.findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(cached.validation.findings.map((f) => [f.check, f.status])).toEqual(local.validation.findings.map((f) => [f.check, f.status]));
    expect([local.source, cached.source]).toEqual(['local', 'huggingface-cache']);
    expect(cached.model_id).toBe('tiny-org/qwen2-tiny');
    const comparable = (e: typeof local) => ({
      files: e.files.filter((f) => f.path !== 'metadata.json'),
      architecture_type: e.architecture_type,
      model_size: e.model_size,
      file_size: e.file_size,
      license: { ...e.license, acknowledged_at: null },
      conversion: e.conversion,
    });
    expect(comparable(cached)).toEqual(comparable(local));
    const weights = async (name: string) => fs.readFile(path.join(root, 'models', name, 'model.safetensors'));
    expect(Buffer.compare(await weights('from-folder'), await weights('from-cache'))).toBe(0);
  });

  it('imports a model folder (source "local") and the same model from an HF cache snapshot (source "huggingface-cache")', async () => {
    const folder = await makeTestModel(root, 'tiny');
    await fs.writeFile(path.join(folder, 'README.md'), '---\nlicense: apache-2.0\n---\n# tiny\n');
    await fs.writeFile(path.join(folder, 'LICENSE'), 'Apache License\nVersion 2.0\n');
    const local = await kernel().importModel({ spec: folder, options: options() }, io());
    expect(local.source).toBe('local');
    expect(local.model_id).toBe('tiny');
    expect(local.license.id).toBe('apache-2.0');

    const snapshot = await makeCache(path.join(root, 'hub'), 'tiny-org/tiny', folder);
    const cached = await kernel().importModel({ spec: snapshot, options: options({ name: 'from-cache' }) }, io());
    expect(cached.source).toBe('huggingface-cache');
    expect(cached.model_id).toBe('tiny-org/tiny');
    expect(cached.provenance.commit).toBe('a'.repeat(40));
    const weights = (e: typeof local) => e.files.filter((f) => f.path !== 'metadata.json');
    expect(weights(cached)).toEqual(weights(local));
  });

  it('imports through the blob store: a folder imported again costs no disk, and the user\'s files are copied, never linked', async () => {
    const folder = await makeTestModel(root, 'tiny', { bytes: 300_000 });
    const first = await kernel().importModel({ spec: folder, options: options({ name: 'first' }) }, io());
    const second = await kernel().importModel({ spec: folder, options: options({ name: 'second' }) }, io());
    const inode = async (file: string) => (await fs.stat(file)).ino;
    const weightsOf = (name: string) => path.join(root, 'models', name, 'model.safetensors');
    const sha = first.files.find((f) => f.path === 'model.safetensors')!.sha256;
    const blob = path.join(root, 'models', '.blobs', 'sha256', sha);
    // One inode for both models and the blob: the second import wrote no byte of it.
    expect(await inode(weightsOf('second'))).toBe(await inode(blob));
    expect(await inode(weightsOf('first'))).toBe(await inode(blob));
    expect((await fs.stat(blob)).nlink).toBe(3);
    expect(second.files).toEqual(first.files.map((f) => (f.path === 'metadata.json' ? second.files.find((g) => g.path === 'metadata.json')! : f)));
    // The user's file is not one of those links: editing it changes no registered model.
    expect(await inode(path.join(folder, 'model.safetensors'))).not.toBe(await inode(blob));

    // An HF cache snapshot of the same files: its blobs are found in the store, nothing new is stored.
    const before = (await fs.readdir(path.join(root, 'models', '.blobs', 'sha256'))).sort();
    const snapshot = await makeCache(path.join(root, 'hub'), 'tiny-org/tiny', folder);
    await kernel().importModel({ spec: snapshot, options: options({ name: 'from-cache' }) }, io());
    expect(await inode(weightsOf('from-cache'))).toBe(await inode(blob));
    expect((await fs.readdir(path.join(root, 'models', '.blobs', 'sha256'))).sort()).toEqual(before);
  });

  it('adopts HF cache blobs by a hard link (no disk of its own), after checking their hash', async () => {
    const folder = await makeTestModel(root, 'tiny', { bytes: 300_000 });
    const snapshot = await makeCache(path.join(root, 'hub'), 'tiny-org/tiny', folder);
    const cacheBlob = await fs.realpath(path.join(snapshot, 'model.safetensors'));
    const before = await fs.stat(cacheBlob);
    await kernel().importModel({ spec: snapshot, options: options() }, io());
    expect((await fs.stat(path.join(root, 'models', 'tiny', 'model.safetensors'))).ino).toBe(before.ino);
    const after = await fs.stat(cacheBlob);
    expect([after.mode, after.mtimeMs]).toEqual([before.mode, before.mtimeMs]); // the cache's inode is never written
  });

  it('with HF_HUB_OFFLINE a repo id is imported from the cache at HF_HUB_CACHE', async () => {
    const folder = await makeTestModel(root, 'tiny');
    await makeCache(path.join(root, 'hub'), 'tiny-org/tiny', folder);
    const entry = await kernel().importModel({ spec: 'tiny-org/tiny', options: options() }, io({ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: path.join(root, 'hub') }));
    expect(entry.source).toBe('huggingface-cache');
    try {
      await kernel().importModel({ spec: 'tiny-org/absent', options: options() }, io({ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: path.join(root, 'hub') }));
      expect.unreachable();
    } catch (error) {
      expect(isModelImportError(error) && error.code).toBe('OFFLINE');
    }
  });

  it('refuses a corrupted cache blob and links that leave the repo folder', async () => {
    const folder = await makeTestModel(root, 'tiny');
    const snapshot = await makeCache(path.join(root, 'hub'), 'tiny-org/tiny', folder);
    const blob = await fs.realpath(path.join(snapshot, 'model.safetensors'));
    const bytes = await fs.readFile(blob);
    bytes[10] ^= 1;
    await fs.writeFile(blob, bytes);
    await expect(kernel().importModel({ spec: snapshot, options: options() }, io())).rejects.toThrow(/does not match its blob name/);
    await fs.writeFile(path.join(root, 'outside.json'), '{}');
    await fs.symlink(path.join(root, 'outside.json'), path.join(folder, 'added_tokens.json'));
    await expect(kernel().importModel({ spec: folder, options: options() }, io())).rejects.toThrow(/links outside/);
    expect((await fs.readdir(path.join(root, 'models', '.staging')))).toEqual([]);
  });

  it('a missing folder or config.json is a clear error', async () => {
    await expect(kernel().importModel({ spec: path.join(root, 'nope'), options: options() }, io())).rejects.toThrow(/No model folder/);
    await fs.mkdir(path.join(root, 'empty'));
    await expect(kernel().importModel({ spec: path.join(root, 'empty'), options: options() }, io())).rejects.toThrow(/has no config.json/);
  });
});
