import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Kernel } from './kernel.js';
import { Reporter, type ReporterEvent } from './reporter.js';
import { NonInteractivePrompter } from './prompter.js';
import { isModelImportError, type ModelImportError } from './errors.js';
import type { ImportOptions, ModelImportPlugin } from '../index.js';
import { folderSource, type FolderSourceOptions } from '../../test/plugins/folder-source.js';
import { testArch } from '../../test/plugins/test-arch.js';
import { testValidator } from '../../test/plugins/test-validator.js';
import { listTree, makeTestModel, tempDir } from '../../test/support/temp.js';
import { AnswersPrompter } from '../../test/support/answers-prompter.js';

let root: string;
let cleanup: () => Promise<void>;
let modelsDir: string;
let modelDir: string;

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  modelsDir = path.join(root, 'models');
  modelDir = await makeTestModel(root);
});
afterEach(async () => cleanup());

function options(extra: Partial<ImportOptions> = {}): ImportOptions {
  return { modelsDir, yes: true, acceptLicense: false, skipValidation: false, ...extra };
}

function kernelWith(source: FolderSourceOptions = {}, extra: ModelImportPlugin[] = [], arch = testArch(), validator = testValidator()): Kernel {
  const kernel = new Kernel().use(folderSource(source)).use(arch).use(validator);
  for (const plugin of extra) kernel.use(plugin);
  return kernel;
}

async function run(kernel: Kernel, opts: Partial<ImportOptions> = {}, prompter = new NonInteractivePrompter(), signal?: AbortSignal) {
  const reporter = new Reporter();
  const events: ReporterEvent[] = [];
  reporter.subscribe((e) => events.push(e));
  const entry = await kernel.importModel({ spec: `test:${modelDir}`, options: options(opts) }, { reporter, prompter, signal });
  return { entry, events };
}

async function failure(promise: Promise<unknown>): Promise<ModelImportError> {
  try {
    await promise;
  } catch (error) {
    if (isModelImportError(error)) return error;
    throw error;
  }
  throw new Error('expected the import to fail');
}

/** What a failed import may leave: nothing but the (empty) staging root and the partial-download folder. */
async function assertNothingLeft(): Promise<void> {
  const tree = await listTree(modelsDir);
  expect(tree.filter((p) => !p.startsWith('.blobs'))).toEqual(tree.length ? ['.staging'] : []);
  await expect(fs.stat(path.join(modelsDir, 'registry.json'))).rejects.toThrow();
}

describe('kernel pipeline', () => {
  it('imports end to end: folder appears by rename, metadata and registry agree', async () => {
    const { entry, events } = await run(kernelWith());
    expect(entry.model_name).toBe('tiny');
    expect(entry.model_id).toBe(`test/tiny`);
    expect(entry.model_size).toBe(1234);
    const weights = await fs.stat(path.join(modelDir, 'model.safetensors'));
    expect(entry.file_size).toBe(weights.size + (await fs.stat(path.join(modelDir, 'config.json'))).size);
    const metadata = JSON.parse(await fs.readFile(path.join(modelsDir, 'tiny', 'metadata.json'), 'utf8'));
    expect(Object.keys(metadata._comments)).toEqual(expect.arrayContaining(['model_name', 'model_id', 'source', 'architecture_type', 'created_at', 'license', 'model_size', 'file_size']));
    const { _comments, ...body } = metadata;
    const registry = JSON.parse(await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8'));
    expect(registry.models.tiny).toEqual(body);
    expect(body.license.acknowledged_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(body.validation.findings).toEqual([expect.objectContaining({ check: 'files-present', status: 'pass' })]);
    expect(await fs.readdir(path.join(modelsDir, '.staging'))).toEqual([]);
    const stages = events.filter((e) => e.type === 'stage' && e.status === 'done').map((e) => (e as { stage: string }).stage);
    expect(stages).toEqual(['resolve', 'authorize', 'fetch', 'convert', 'validate', 'register']);
  });

  it.each(['resolve', 'authorize', 'fetch'] as const)('a failure in %s leaves nothing behind', async (stage) => {
    const error = await failure(run(kernelWith({ failAt: stage })));
    expect(error.message).toContain(`injected failure in ${stage}`);
    await assertNothingLeft();
  });

  it('a failure in convert names the plugin and the hook, and leaves nothing behind', async () => {
    const error = await failure(run(kernelWith({}, [], testArch({ failAt: 'convert' }))));
    expect(error.code).toBe('PLUGIN_FAILED');
    expect(error.message).toBe('plugin test/arch failed in convert(TestForCausalLM): injected failure in convert');
    await assertNothingLeft();
  });

  it('a failed validation blocks registration', async () => {
    const error = await failure(run(kernelWith({}, [], testArch(), testValidator({ fail: true }))));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.exitCode).toBe(9);
    expect(error.message).toContain('injected validation failure');
    await assertNothingLeft();
  });

  it('a validator that crashes blocks registration', async () => {
    const error = await failure(run(kernelWith({}, [], testArch(), testValidator({ throwError: true }))));
    expect(error.message).toContain('plugin test/validator failed in validate');
    await assertNothingLeft();
  });

  it('a failure in a register tap leaves nothing behind', async () => {
    const breaker: ModelImportPlugin = {
      name: 'test/register-breaker',
      apply: ({ hooks }) => hooks.register.tapPromise('test/register-breaker', async () => {
        throw new Error('disk on fire');
      }),
    };
    const error = await failure(run(kernelWith({}, [breaker])));
    expect(error.message).toContain('plugin test/register-breaker failed in register: disk on fire');
    await assertNothingLeft();
  });

  it('register taps add fields to the entry, written once', async () => {
    const tagger: ModelImportPlugin = {
      name: 'test/tagger',
      apply: ({ hooks }) => hooks.register.tapPromise('test/tagger', async (entry) => ({ ...entry, team: 'research' })),
    };
    const { entry } = await run(kernelWith({}, [tagger]));
    expect(entry.team).toBe('research');
    const registry = JSON.parse(await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8'));
    expect(registry.models.tiny.team).toBe('research');
  });

  it('--skip-validation registers without validators and records it', async () => {
    const { entry } = await run(kernelWith({}, [], testArch(), testValidator({ fail: true })), { skipValidation: true });
    expect(entry.validation.skipped).toBe(true);
    expect(entry.validation.findings).toEqual([]);
  });

  it('an abort during fetch interrupts the import and removes staging', async () => {
    const controller = new AbortController();
    const reporter = new Reporter();
    reporter.subscribe((e) => {
      if (e.type === 'task-progress' && e.done > 100_000) controller.abort();
    });
    const kernel = kernelWith({ chunkDelayMs: 5 });
    const error = await failure(
      kernel.importModel({ spec: `test:${modelDir}`, options: options() }, { reporter, prompter: new NonInteractivePrompter(), signal: controller.signal }),
    );
    expect(error.code).toBe('INTERRUPTED');
    expect(error.exitCode).toBe(130);
    await assertNothingLeft();
  });
});

describe('architecture check before any download', () => {
  it('an unclaimed architecture fails listing the supported ones, with nothing fetched', async () => {
    await makeTestModel(root, 'tiny', { architecture: 'MambaForCausalLM' });
    const kernel = kernelWith({}, [], testArch({ architecture: 'OtherForCausalLM' }));
    kernel.use({ name: 'second-arch', apply: ({ hooks }) => {
      hooks.recognize.for('AnotherForCausalLM').tap('second-arch', () => undefined);
      hooks.convert.for('AnotherForCausalLM').tapPromise('second-arch', async () => undefined);
    } });
    const events: ReporterEvent[] = [];
    const reporter = new Reporter();
    reporter.subscribe((e) => events.push(e));
    const error = await failure(kernel.importModel({ spec: `test:${modelDir}`, options: options() }, { reporter, prompter: new NonInteractivePrompter() }));
    expect(error.code).toBe('UNSUPPORTED_ARCHITECTURE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('Unsupported model: found architecture MambaForCausalLM. Supported architectures: AnotherForCausalLM, OtherForCausalLM.');
    expect(events.some((e) => e.type === 'stage' && e.stage === 'fetch')).toBe(false);
    await expect(fs.stat(path.join(modelsDir, '.staging'))).rejects.toThrow();
  });

  it('lists architectures only: keys a plugin taps but does not claim (model_type keys) stay out', async () => {
    await makeTestModel(root, 'tiny', { architecture: 'MambaForCausalLM' });
    const kernel = kernelWith({}, [], testArch({ architecture: 'OtherForCausalLM' }));
    kernel.use({ name: 'claiming-arch', kind: 'architecture', claims: ['ClaimedForCausalLM'], apply: ({ hooks }) => {
      for (const key of ['ClaimedForCausalLM', 'claimed']) {
        hooks.recognize.for(key).tap('claiming-arch', () => undefined);
        hooks.convert.for(key).tapPromise('claiming-arch', async () => undefined);
      }
    } });
    expect(kernel.supportedArchitectures()).toEqual(['ClaimedForCausalLM', 'OtherForCausalLM']);
    const error = await failure(run(kernel));
    expect(error.code).toBe('UNSUPPORTED_ARCHITECTURE');
    expect(error.message).toBe('Unsupported model: found architecture MambaForCausalLM. Supported architectures: ClaimedForCausalLM, OtherForCausalLM.');
  });

  it('an adapter refuses a look-alike with its own message', async () => {
    await makeTestModel(root, 'tiny', { extra: { quantization_config: { quant_method: 'gptq' } } });
    const error = await failure(run(kernelWith()));
    expect(error.code).toBe('UNSUPPORTED_VARIANT');
    expect(error.message).toContain('quantization_config');
  });

  it('refuses a listing larger than the free disk before the first byte', async () => {
    const error = await failure(run(kernelWith({ inflateSizes: 1e12 })));
    expect(error.code).toBe('DISK_SPACE');
    expect(error.exitCode).toBe(7);
    expect(error.message).toMatch(/needs .* but only .* is free/);
    expect(error.details).toEqual(expect.objectContaining({ where: modelsDir }));
    await expect(fs.stat(path.join(modelsDir, '.staging'))).rejects.toThrow();
  });
});

describe('license acknowledgement', () => {
  it('without a terminal and without a flag the question is an error naming the flag', async () => {
    const error = await failure(run(kernelWith(), { yes: false }));
    expect(error.code).toBe('NOT_INTERACTIVE');
    expect(error.hint).toContain('--accept-license');
    await expect(fs.stat(path.join(modelsDir, '.staging'))).rejects.toThrow();
  });

  it('a declined license stops before the download', async () => {
    const prompter = new AnswersPrompter([false]);
    const error = await failure(run(kernelWith({ license: { id: 'other', name: 'tiny-license', link: 'http://x/LICENSE' } }), { yes: false }, prompter as never));
    expect(error.code).toBe('LICENSE_DECLINED');
    expect(error.exitCode).toBe(6);
    expect(prompter.asked[0]).toContain('tiny-license');
    await expect(fs.stat(path.join(modelsDir, '.staging'))).rejects.toThrow();
  });

  it('--accept-license answers it and the metadata records it', async () => {
    const { entry, events } = await run(kernelWith({ license: { id: 'other', name: 'tiny-license', link: 'http://x/LICENSE' } }), { yes: false, acceptLicense: true });
    expect(entry.license).toEqual(expect.objectContaining({ id: 'other', name: 'tiny-license', link: 'http://x/LICENSE' }));
    expect(events.find((e) => e.type === 'license')).toEqual(expect.objectContaining({ name: 'tiny-license' }));
  });
});

describe('duplicate names', () => {
  it('cancel, rename and overwrite', async () => {
    await run(kernelWith());
    const cancelled = await failure(run(kernelWith(), { onDuplicate: 'cancel' }));
    expect(cancelled.code).toBe('CANCELLED');
    const renamed = await run(kernelWith(), { onDuplicate: 'rename' });
    expect(renamed.entry.model_name).toBe('tiny-2');
    const first = JSON.parse(await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8')).models.tiny;
    const overwritten = await run(kernelWith(), { onDuplicate: 'overwrite' });
    expect(overwritten.entry.model_name).toBe('tiny');
    expect(overwritten.entry.created_at >= first.created_at).toBe(true);
    const registry = JSON.parse(await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8'));
    expect(Object.keys(registry.models).sort()).toEqual(['tiny', 'tiny-2']);
    expect(registry.models.tiny.created_at).toBe(overwritten.entry.created_at);
    expect((await listTree(modelsDir)).filter((p) => !p.startsWith('.blobs') && !p.includes('/'))).toEqual(['.staging', 'registry.json', 'tiny', 'tiny-2']);
  });

  it('an overwrite whose validation fails keeps the old model intact', async () => {
    const { entry } = await run(kernelWith());
    const before = await fs.readFile(path.join(modelsDir, 'tiny', 'metadata.json'), 'utf8');
    const error = await failure(run(kernelWith({}, [], testArch(), testValidator({ fail: true })), { onDuplicate: 'overwrite' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(await fs.readFile(path.join(modelsDir, 'tiny', 'metadata.json'), 'utf8')).toBe(before);
    const registry = JSON.parse(await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8'));
    expect(registry.models.tiny.created_at).toBe(entry.created_at);
  });

  it('without a terminal the duplicate question names --on-duplicate; interactive answers work', async () => {
    await run(kernelWith());
    const error = await failure(run(kernelWith()));
    expect(error.code).toBe('NOT_INTERACTIVE');
    expect(error.hint).toContain('--on-duplicate');
    const prompter = new AnswersPrompter(['rename', 'my-copy']);
    const { entry } = await run(kernelWith(), {}, prompter as never);
    expect(entry.model_name).toBe('my-copy');
    expect(prompter.asked).toEqual([expect.stringContaining('already registered'), 'New name']);
  });

  it('names compare case-insensitively (macOS and Windows folders do)', async () => {
    await run(kernelWith(), { name: 'Tiny-Model' });
    const { entry } = await run(kernelWith(), { name: 'tiny-model', onDuplicate: 'rename' });
    expect(entry.model_name).toBe('tiny-model-2');
  });
});

describe('registry safety', () => {
  it('a corrupted registry.json is a clear error and is never overwritten', async () => {
    await fs.mkdir(modelsDir, { recursive: true });
    const file = path.join(modelsDir, 'registry.json');
    await fs.writeFile(file, '{"models": {"a": ');
    const error = await failure(run(kernelWith()));
    expect(error.code).toBe('REGISTRY_CORRUPT');
    expect(error.exitCode).toBe(12);
    expect(error.message).toContain(file);
    expect(await fs.readFile(file, 'utf8')).toBe('{"models": {"a": ');
  });

  it('a registry.json that is a folder, or a .staging that is a file, is a clear state error (exit 12)', async () => {
    await fs.mkdir(path.join(modelsDir, 'registry.json'), { recursive: true });
    const folder = await failure(run(kernelWith()));
    expect([folder.code, folder.exitCode]).toEqual(['REGISTRY_CORRUPT', 12]);
    expect(folder.message).toContain('is a folder');
    await fs.rm(path.join(modelsDir, 'registry.json'), { recursive: true });
    await fs.writeFile(path.join(modelsDir, '.staging'), 'not a folder');
    const file = await failure(run(kernelWith()));
    expect([file.code, file.exitCode]).toEqual(['UNSAFE_LOCAL_STATE', 12]);
    expect(file.message).toContain('.staging is in the way');
  });

  it('a full disk in any plugin is the disk-space error (exit 7), not a bug report', async () => {
    const filler: ModelImportPlugin = {
      name: 'test/disk-filler',
      apply: ({ hooks }) =>
        hooks.convert.for('TestForCausalLM').tapPromise({ name: 'test/disk-filler', stage: -1 }, async (job) => {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: path.join(job.outDir, 'model.safetensors') });
        }),
    };
    const error = await failure(run(kernelWith({}, [filler])));
    expect([error.code, error.exitCode]).toEqual(['DISK_SPACE', 7]);
    expect(error.message).toContain('model.safetensors');
    await assertNothingLeft();
  });

  it('cleans staging folders left by a dead process, never a live one nor one it did not name', async () => {
    const stagingRoot = path.join(modelsDir, '.staging');
    await fs.mkdir(path.join(stagingRoot, 'dead.1.0123abcd'), { recursive: true });
    await fs.mkdir(path.join(stagingRoot, 'alive.1.0123abcd'), { recursive: true });
    const { hostname } = await import('node:os');
    await fs.writeFile(path.join(stagingRoot, 'dead.1.0123abcd', 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: '' }));
    await fs.writeFile(path.join(stagingRoot, 'alive.1.0123abcd', 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '' }));
    // Not of ours (no such name, a link to a user's folder): never removed, even with a dead owner inside.
    await fs.mkdir(path.join(stagingRoot, 'users-notes'));
    await fs.writeFile(path.join(stagingRoot, 'users-notes', 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: '' }));
    await run(kernelWith());
    expect((await fs.readdir(stagingRoot)).sort()).toEqual(['alive.1.0123abcd', 'users-notes']);
  });
});

describe('plugins', () => {
  it('a plugin listed twice is a config error', () => {
    expect(() => new Kernel().use(testArch()).use(testArch())).toThrow(/listed twice/);
  });

  it('verify re-runs the validators on the registered folder', async () => {
    await run(kernelWith());
    const kernel = kernelWith();
    const ok = await kernel.verifyModel('tiny', { reporter: new Reporter(), prompter: new NonInteractivePrompter(), options: options() });
    expect(ok.report.passed).toBe(true);
    await fs.truncate(path.join(modelsDir, 'tiny', 'model.safetensors'), 10);
    const bad = await kernel.verifyModel('tiny', { reporter: new Reporter(), prompter: new NonInteractivePrompter(), options: options() });
    expect(bad.report.passed).toBe(false);
  });
});
