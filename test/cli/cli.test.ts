/**
 * The CLI as a user runs it: real child processes, real files, the kernel's test plugins via a config file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, spawnCli, testPluginsConfig, waitForStderr, REPO_ROOT } from '../support/cli.js';
import { listTree, makeTestModel, tempDir } from '../support/temp.js';

let project: string;
let cleanup: () => Promise<void>;
let modelDir: string;

beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-cli-'));
  modelDir = await makeTestModel(project, 'tiny', { bytes: 2_000_000 });
  await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig());
});
afterEach(async () => cleanup());

const models = () => path.join(project, 'models');
const readRegistry = async () => JSON.parse(await fs.readFile(path.join(models(), 'registry.json'), 'utf8'));

function expectOneLineError(stderr: string): void {
  // Stage lines may come first; the error itself is one line and one hint, and ends the output.
  expect(stderr).toMatch(/(^|\n)error: [^\n]+\nhint: [^\n]+\n$/);
  expect(stderr.match(/^error: /gm)).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('model-import CLI', () => {
  it('answers --help with the commands and exit codes', async () => {
    const result = await runCli(['--help'], { cwd: project });
    expect(result.code).toBe(0);
    for (const command of ['import-model <repo_id>', 'list', 'show <name>', 'remove <name>', 'verify <name>', 'plugins']) {
      expect(result.stdout).toContain(command);
    }
    expect(result.stdout).toContain('130 interrupted');
  });

  it('imports with --json: exactly one JSON document on stdout, progress as JSON lines on stderr', async () => {
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes', '--json'], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.ok).toBe(true);
    expect(document.model.model_name).toBe('tiny');
    const events = result.stderr.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.some((e) => e.type === 'task-progress')).toBe(true);
    expect((await readRegistry()).models.tiny).toEqual(document.model);
  });

  it('prints the model name and how to refer to it', async () => {
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes', '--name', 'my-base'], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('as "my-base"');
    expect(result.stdout).toContain('model: my-base');
    expect(result.stderr).toContain('Downloading...');
    expect(result.stderr).toContain('files-present');
  });

  it.each(['../x', 'a/b', '', 'CON', '.hidden', 'x'.repeat(65), 'a b'])('rejects --name %j with exit 2 and one line', async (name) => {
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes', '--name', name], { cwd: project });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain('Invalid model name');
    await expect(fs.stat(path.join(models(), '.staging'))).rejects.toThrow();
  });

  it('--debug shows the stack', async () => {
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes', '--name', 'a/b', '--debug'], { cwd: project });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\s+at /m);
  });

  it('a duplicate name without a terminal names --on-duplicate; the flag answers it', async () => {
    expect((await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project })).code).toBe(0);
    const again = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr);
    expect(again.stderr).toContain('--on-duplicate');
    const renamed = await runCli(['import-model', `test:${modelDir}`, '--yes', '--on-duplicate', 'rename', '--json'], { cwd: project });
    expect(JSON.parse(renamed.stdout).model.model_name).toBe('tiny-2');
    const cancelled = await runCli(['import-model', `test:${modelDir}`, '--yes', '--on-duplicate', 'cancel', '--json'], { cwd: project });
    expect(cancelled.code).toBe(10);
    expect(JSON.parse(cancelled.stdout)).toEqual({ ok: false, error: expect.objectContaining({ code: 'CANCELLED', exitCode: 10 }) });
    expect(Object.keys((await readRegistry()).models).sort()).toEqual(['tiny', 'tiny-2']);
  });

  it('the license question without a terminal names --accept-license', async () => {
    const result = await runCli(['import-model', `test:${modelDir}`], { cwd: project });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--accept-license');
    expect(result.stderr).toContain('License of test/tiny: apache-2.0');
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s during fetch exits %i and leaves nothing behind', async (signal, code) => {
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig({ chunkDelayMs: 20 }));
    const { child, done } = spawnCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    await waitForStderr(child, 'Downloading...');
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill(signal);
    const result = await done;
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toContain('nothing was registered');
    const left = await listTree(models());
    expect(left.filter((p) => p !== '.staging' && !p.startsWith('.blobs'))).toEqual([]);
    await expect(fs.stat(path.join(models(), 'registry.json'))).rejects.toThrow();
  });

  it('after a SIGKILL the next run cleans the abandoned staging folder and succeeds', async () => {
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig({ chunkDelayMs: 20 }));
    const { child, done } = spawnCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    await waitForStderr(child, 'Downloading...');
    child.kill('SIGKILL');
    await done;
    expect((await fs.readdir(path.join(models(), '.staging'))).length).toBe(1);
    await fs.writeFile(path.join(project, 'model-import.config.ts'), testPluginsConfig());
    const rerun = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await fs.readdir(path.join(models(), '.staging'))).toEqual([]);
  });

  it('eight concurrent imports into one models folder all land in a valid registry', async () => {
    const runs = Array.from({ length: 8 }, (_, i) =>
      runCli(['import-model', `test:${modelDir}`, '--yes', '--name', `copy-${i}`, '--json'], { cwd: project }),
    );
    const results = await Promise.all(runs);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const registry = await readRegistry();
    expect(Object.keys(registry.models).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `copy-${i}`));
    for (let i = 0; i < 8; i++) await fs.stat(path.join(models(), `copy-${i}`, 'metadata.json'));
  });

  it('a corrupted registry.json gives exit 12 naming the file, and stays as it was', async () => {
    await fs.mkdir(models(), { recursive: true });
    await fs.writeFile(path.join(models(), 'registry.json'), 'not json');
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(result.code).toBe(12);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain(path.join(models(), 'registry.json'));
    expect(await fs.readFile(path.join(models(), 'registry.json'), 'utf8')).toBe('not json');
    const list = await runCli(['list'], { cwd: project });
    expect(list.code).toBe(12);
  });

  it('proposes the nearest command or flag for a typo', async () => {
    const command = await runCli(['improt-model', 'x/y'], { cwd: project });
    expect(command.code).toBe(2);
    expect(command.stderr).toBe('error: Unknown command "improt-model".\nhint: Did you mean import-model? Run model-import --help for the commands.\n');
    const flag = await runCli(['import-model', `test:${modelDir}`, '--skip-valdation'], { cwd: project });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe('error: Unknown argument: skip-valdation\nhint: Did you mean --skip-validation? Run model-import --help for the commands and flags.\n');
    const other = await runCli(['remove', 'tiny', '--yse'], { cwd: project });
    expect(other.stderr).toContain('Did you mean --yes?');
  });

  it.each([
    ['a file is in the way', async () => {
      await fs.writeFile(path.join(project, 'not-a-folder'), '');
      return path.join(project, 'not-a-folder', 'models');
    }],
    ['the folder cannot be created (even by root)', async () => `/sys/model-import-test-${process.pid}`],
  ])('a models folder that cannot be written (%s): exit 12 with the path, before the license question', async (_why, folder) => {
    const modelsDir = await folder();
    const result = await runCli(['import-model', `test:${modelDir}`, '--models-dir', modelsDir], { cwd: project });
    expect(result.code, result.stderr).toBe(12);
    expect(result.stderr).toMatch(new RegExp(`^error: Cannot write to the models folder ${modelsDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: [^\n]+\.\nhint: [^\n]*--models-dir[^\n]*\n$`));
    expect(result.stderr).not.toMatch(/License|Unexpected|bug/);
  });

  it('list, show, verify and remove', async () => {
    expect((await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project })).code).toBe(0);
    const list = await runCli(['list'], { cwd: project });
    expect(list.stdout).toMatch(/^NAME +MODEL ID +PARAMS +SIZE +IMPORTED\n/);
    expect(list.stdout).toMatch(/\ntiny +test\/tiny +1K +2\.00 MB +(just now|\d+ seconds ago)\n/);
    for (const line of list.stdout.split('\n')) expect(line.length).toBeLessThan(80);
    const show = await runCli(['show', 'tiny'], { cwd: project });
    expect(show.stdout).toMatch(/^  name +tiny\n  model id +test\/tiny\n/);
    expect(show.stdout).toMatch(/\n  parameters +1,234\n/);
    expect(show.stdout).toMatch(/\n  validation +1 check passed\n/);
    const showJson = await runCli(['show', 'tiny', '--json'], { cwd: project });
    expect(JSON.parse(showJson.stdout)).toEqual({ ok: true, model: (await readRegistry()).models.tiny });
    const verify = await runCli(['verify', 'tiny'], { cwd: project });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('files-present');
    const missing = await runCli(['show', 'nope'], { cwd: project });
    expect(missing.code).toBe(5);
    const refused = await runCli(['remove', 'tiny'], { cwd: project });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    const removed = await runCli(['remove', 'tiny', '--yes'], { cwd: project });
    expect(removed.code).toBe(0);
    expect((await readRegistry()).models).toEqual({});
    await expect(fs.stat(path.join(models(), 'tiny'))).rejects.toThrow();
  });
});

describe('config discovery and plugins', () => {
  const thirdPartyArch = `
export default function thirdParty(options = {}) {
  return {
    name: 'acme/arch-test',
    kind: 'architecture',
    claims: ['AcmeForCausalLM'],
    apply({ hooks }) {
      hooks.recognize.for('AcmeForCausalLM').tap('acme/arch-test', () => ({
        adapter: 'acme/arch-test', architecture: 'AcmeForCausalLM', architectureType: 'acme', family: 'acme',
        warnings: [], conversionScratchBytes: () => 0,
      }));
      hooks.convert.for('AcmeForCausalLM').tapPromise('acme/arch-test', async (job) => {
        const fs = await import('node:fs/promises');
        const path = await import('node:path');
        for (const f of job.plan.files) await fs.copyFile(path.join(job.rawDir, f.path), path.join(job.outDir, f.path));
        return { components: [], parameterCount: 7, dtype: 'f32' };
      });
    },
  };
}
`;

  it('loads a third-party plugin from a relative path; without it the architecture is unsupported', async () => {
    const acme = await makeTestModel(project, 'acme', { architecture: 'AcmeForCausalLM' });
    await fs.writeFile(path.join(project, 'acme-arch.mjs'), thirdPartyArch);
    const source = JSON.stringify(path.join(REPO_ROOT, 'test', 'plugins', 'folder-source.ts'));
    await fs.writeFile(path.join(project, 'model-import.config.ts'), `export default { plugins: [${source}, './acme-arch.mjs'] };\n`);
    const ok = await runCli(['import-model', `test:${acme}`, '--yes', '--json'], { cwd: project });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).model).toEqual(expect.objectContaining({ architecture_type: 'acme', model_size: 7 }));
    const plugins = await runCli(['plugins', '--json'], { cwd: project });
    expect(JSON.parse(plugins.stdout).plugins).toEqual([
      expect.objectContaining({ name: 'test/folder-source', kind: 'source' }),
      expect.objectContaining({ name: 'acme/arch-test', kind: 'architecture', claims: ['AcmeForCausalLM'], origin: expect.stringContaining('path') }),
    ]);
    await fs.writeFile(path.join(project, 'model-import.config.ts'), `export default { plugins: [${source}] };\n`);
    const refused = await runCli(['import-model', `test:${acme}`, '--yes', '--name', 'acme-2'], { cwd: project });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('Supported architectures: none');
  });

  it('finds model-import.config.json, and a "model-import" key in package.json', async () => {
    await fs.rm(path.join(project, 'model-import.config.ts'));
    const plugins = ['folder-source.ts', 'test-arch.ts', 'test-validator.ts'].map((p) => path.join(REPO_ROOT, 'test', 'plugins', p));
    await fs.writeFile(path.join(project, 'model-import.config.json'), JSON.stringify({ plugins, modelsDir: 'json-models' }));
    const viaJson = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(viaJson.code, viaJson.stderr).toBe(0);
    await fs.stat(path.join(project, 'json-models', 'tiny'));
    await fs.rm(path.join(project, 'model-import.config.json'));
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'p', 'model-import': { plugins, modelsDir: 'pkg-models' } }));
    const viaPackage = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(viaPackage.code, viaPackage.stderr).toBe(0);
    await fs.stat(path.join(project, 'pkg-models', 'tiny'));
  });

  it("a user's model-import.config.ts imports defineConfig from 'model-import'", async () => {
    await fs.mkdir(path.join(project, 'node_modules'), { recursive: true });
    await fs.symlink(REPO_ROOT, path.join(project, 'node_modules', 'model-import'));
    const plugins = ['folder-source.ts', 'test-arch.ts', 'test-validator.ts'].map((p) => JSON.stringify(path.join(REPO_ROOT, 'test', 'plugins', p)));
    await fs.writeFile(
      path.join(project, 'model-import.config.ts'),
      `import { defineConfig } from 'model-import';\nexport default defineConfig({ plugins: [${plugins.join(', ')}], modelsDir: 'typed' });\n`,
    );
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    await fs.stat(path.join(project, 'typed', 'tiny'));
  });

  it.each([
    ['an unknown package', `export default { plugins: ['no-such-plugin-package'] };`, 'Could not load plugin "no-such-plugin-package"'],
    ['a missing path', `export default { plugins: ['./missing.mjs'] };`, 'Could not load plugin "./missing.mjs"'],
    ['a module that exports no plugin', `export default { plugins: ['./not-a-plugin.mjs'] };`, 'exports no plugin'],
    ['a broken module', `export default { plugins: ['./broken.mjs'] };`, 'importing'],
    ['an unknown key', `export default { plugin: [] };`, 'unknown key "plugin"'],
    ['a syntax error in the config', `export default { plugins: [ ;`, 'Could not load'],
  ])('%s is a clear config error (exit 2)', async (_what, config, message) => {
    await fs.writeFile(path.join(project, 'not-a-plugin.mjs'), 'export const x = 1;\n');
    await fs.writeFile(path.join(project, 'broken.mjs'), 'export default {{{;\n');
    await fs.writeFile(path.join(project, 'model-import.config.ts'), `${config}\n`);
    const result = await runCli(['import-model', `test:${modelDir}`, '--yes'], { cwd: project });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain(message);
  });
});
