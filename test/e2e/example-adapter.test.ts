/**
 * The example third-party adapter (examples/arch-llama, package model-import-arch-llama) installed as a user
 * installs it, driven through the real CLI (bin/model-import.js over dist/: `npm test` builds it) against the
 * fake hub:
 *
 *   project/node_modules/model-import             -> the repo root   (what npm makes of a file: dependency)
 *   project/node_modules/model-import-arch-llama  -> examples/arch-llama (`npm install ./examples/arch-llama`)
 *   project/model-import.config.ts                 lists 'model-import-arch-llama' by package name
 *
 * A folder installed by npm is a symlink, and Node resolves a module's imports from its real path: the adapter's
 * `import ... from 'model-import'` is looked up from examples/arch-llama, not from the project. It resolves
 * because the example's own `npm install` links its devDependency model-import (file:../..) into
 * examples/arch-llama/node_modules; beforeAll makes that link when it is missing (node_modules is git-ignored).
 * The other layouts (a copy, as `npm install --install-links` or the registry make, and a link without that
 * dev install) are tested too.
 *
 * Also here: the rule that the example imports nothing from model-import but its public entry point, its own
 * type check (JSDoc against model-import's published .d.ts) and its own node:test suite.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyModel, tinyInventory } from '../fixtures/tiny-models.js';
import { REPO_ROOT, hubCliEnv, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'arch-llama');
const PACKAGE = 'model-import-arch-llama';
const BUILTINS = ['model-import/source-huggingface', 'model-import/arch-qwen', 'model-import/validator-forward'];

let hub: FakeHub;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await ensureExampleDevInstall();
  hub = await startFakeHub({
    repos: [
      { id: 'tiny-org/llama-tiny', files: makeTinyModel({ family: 'llama', seed: 21 }), cardData: { license: 'apache-2.0' } },
      { id: 'tiny-org/llama-untied', files: makeTinyModel({ family: 'llama', seed: 22, tied: false, shards: 2 }), cardData: { license: 'apache-2.0' } },
    ],
  });
});
afterAll(async () => hub?.close());

beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-example-'));
});
afterEach(async () => cleanup());

/** What `npm install` inside examples/arch-llama does with its devDependency "model-import": "file:../..". */
async function ensureExampleDevInstall(): Promise<void> {
  const link = path.join(EXAMPLE, 'node_modules', 'model-import');
  try {
    await fs.lstat(link);
    return;
  } catch {
    // not installed yet
  }
  await fs.mkdir(path.dirname(link), { recursive: true });
  await fs.symlink(path.join('..', '..', '..'), link, 'dir').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

type Layout = 'link' | 'copy';

/**
 * A user's project: package.json, node_modules with model-import and the adapter, and a config listing
 * `plugins` (the adapter by package name among them, or not).
 */
async function makeProject(plugins: string[], layout: Layout = 'link', adapterFolder = EXAMPLE): Promise<void> {
  const modules = path.join(project, 'node_modules');
  await fs.mkdir(modules, { recursive: true });
  await fs.symlink(REPO_ROOT, path.join(modules, 'model-import'), 'dir');
  const installed = path.join(modules, PACKAGE);
  if (layout === 'link') {
    await fs.symlink(adapterFolder, installed, 'dir');
  } else {
    // What npm pack + install puts there: the package's "files", package.json and README, no node_modules.
    await fs.cp(adapterFolder, installed, { recursive: true, filter: (source) => !['node_modules', 'test'].includes(topFolder(adapterFolder, source)) });
  }
  await fs.writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'my-models', private: true, dependencies: { 'model-import': `file:${REPO_ROOT}`, [PACKAGE]: `file:${adapterFolder}` } }, null, 2),
  );
  await writeConfig(plugins);
}

/** The first path segment of `file` below `root` ('' for root itself). */
function topFolder(root: string, file: string): string {
  return path.relative(root, file).split(path.sep)[0];
}

async function writeConfig(plugins: string[]): Promise<void> {
  await fs.writeFile(
    path.join(project, 'model-import.config.ts'),
    `import { defineConfig } from 'model-import';\n\nexport default defineConfig({\n  plugins: [\n${plugins.map((p) => `    ${JSON.stringify(p)},\n`).join('')}  ],\n});\n`,
  );
}

const withAdapter = () => [BUILTINS[0], BUILTINS[1], PACKAGE, BUILTINS[2]];

const cli = (args: string[]) =>
  runCli(args, {
    cwd: project,
    env: hubCliEnv(hub.url, project),
  });

interface PluginsJson {
  plugins: Array<{ name: string; kind: string; origin: string; claims: string[] }>;
  architectures: string[];
}

async function listPlugins(): Promise<PluginsJson> {
  const result = await cli(['plugins', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PluginsJson;
}

/** Parameters of the fixture's tensors, counted from the fixture's own inventory (not from the adapter). */
function fixtureParameters(tied: boolean): number {
  return tinyInventory({ family: 'llama', tied }).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

describe('the example adapter installed from its folder', () => {
  it('is listed by `model-import plugins --json` with its origin, beside the built-in plugins', async () => {
    await makeProject(withAdapter());
    const listing = await listPlugins();
    expect(listing.plugins.map((p) => p.name)).toEqual(['model-import/source-huggingface', 'model-import/arch-qwen', PACKAGE, 'model-import/validator-forward']);
    expect(listing.plugins.find((p) => p.name === PACKAGE)).toEqual({ name: PACKAGE, kind: 'architecture', origin: `package ${PACKAGE}`, claims: ['LlamaForCausalLM'] });
    expect(listing.architectures).toEqual(expect.arrayContaining(['LlamaForCausalLM', 'Qwen2ForCausalLM']));
    expect(listing.architectures).not.toContain('llama'); // model_type keys are tapped, not listed
  });

  it('imports a tiny Llama end to end: architecture_type llama, parameters from the headers, the forward pass validated', async () => {
    await makeProject(withAdapter());
    const result = await cli(['import-model', 'tiny-org/llama-tiny', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model).toEqual(expect.objectContaining({ model_name: 'llama-tiny', model_id: 'tiny-org/llama-tiny', source: 'huggingface', architecture_type: 'llama' }));
    expect(model.model_size).toBe(fixtureParameters(true));
    expect(model.provenance).toEqual(expect.objectContaining({ architecture: 'LlamaForCausalLM', adapter: PACKAGE, commit: hub.commitOf('tiny-org/llama-tiny') }));
    expect(model.conversion.dtype).toBe('bf16');
    expect(model.conversion.components.map((c: { component: string; status: string }) => `${c.component}:${c.status}`)).toEqual([
      'weights:ok', 'config:ok', 'generation-config:ok', 'tokenizer:ok', 'license:ok', 'onnx:ok',
    ]);
    expect(model.conversion.components[0].detail).toMatch(/^20 tensors, bf16, 1 file\(s\) linked \(no copy\)$/);

    // The decoder kit gives the claim `validation`: the forward validator runs the ONNX graph against the kit's
    // reference forward pass and it passes, as do the integrity checks.
    const findings = model.validation.findings as Array<{ validator: string; check: string; status: string; message?: string }>;
    expect(findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(findings.filter((f) => f.status === 'skip')).toEqual([]);
    expect(findings).toContainEqual(expect.objectContaining({ validator: 'model-import/validator-forward', check: 'reference', status: 'pass', figure: expect.stringMatching(/^max \|Δ\| .* ≤ 1e-4$/) }));
    expect(findings).toContainEqual(expect.objectContaining({ validator: 'model-import/validator-forward', check: 'kv-cache', status: 'pass' }));
    expect(findings.some((f) => f.status === 'pass')).toBe(true);
    expect(model.validation.skipped).toBe(false);

    const dir = path.join(project, 'models', 'llama-tiny');
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'LICENSE', 'metadata.json']) {
      await fs.stat(path.join(dir, file));
    }
    await fs.stat(path.join(dir, 'onnx', 'model.onnx'));
    const verify = await cli(['verify', 'llama-tiny']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('imports a sharded, untied Llama: both shards and the index linked, lm_head counted', async () => {
    await makeProject(withAdapter());
    const result = await cli(['import-model', 'tiny-org/llama-untied', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model } = JSON.parse(result.stdout);
    expect(model.model_size).toBe(fixtureParameters(false));
    expect(model.model_size).toBeGreaterThan(fixtureParameters(true));
    expect(model.conversion.details.files).toEqual(['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  });

  it('removed from the config, the same import fails with exit 3 before any weight byte, and the list has lost Llama', async () => {
    await makeProject(withAdapter());
    const before = (await listPlugins()).architectures;
    await writeConfig(BUILTINS);
    const after = (await listPlugins()).architectures;
    expect(after).toEqual(before.filter((key) => key !== 'LlamaForCausalLM'));
    expect(after).toContain('Qwen2ForCausalLM');

    const served = hub.weightBytesServed();
    const result = await cli(['import-model', 'tiny-org/llama-tiny', '--yes', '--json']);
    expect(result.code).toBe(3);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe('UNSUPPORTED_ARCHITECTURE');
    expect(error.message).toContain('found architecture LlamaForCausalLM');
    expect(error.details).toEqual({ found: 'LlamaForCausalLM', supported: after });
    expect(error.details.supported).not.toContain('LlamaForCausalLM');
    expect(result.stderr).toMatch(/^error: Unsupported model: found architecture LlamaForCausalLM\. Supported architectures: /m);
    expect(hub.weightBytesServed()).toBe(served);
  });

  it('installed as a copy (npm install --install-links, or from a registry) it resolves model-import from the project', async () => {
    await makeProject(withAdapter(), 'copy');
    expect((await fs.lstat(path.join(project, 'node_modules', PACKAGE))).isSymbolicLink()).toBe(false);
    const listing = await listPlugins();
    expect(listing.architectures).toContain('LlamaForCausalLM');
  });

  it('linked from a folder that never ran its own npm install, it still loads: model-import resolves to the running CLI', async () => {
    // A copy of the example in a folder of its own (outside the project, whose node_modules would otherwise be
    // found by walking up), without node_modules: Node alone would find no model-import from there. The CLI's
    // plugin loader points 'model-import' at its own entry point, so the symlinked install works.
    const elsewhere = await tempDir('arch-llama-src-');
    const bare = path.join(elsewhere.dir, 'arch-llama');
    let result;
    try {
      await fs.cp(EXAMPLE, bare, { recursive: true, filter: (source) => topFolder(EXAMPLE, source) !== 'node_modules' });
      await makeProject(withAdapter(), 'link', bare);
      result = await cli(['plugins', '--json']);
    } finally {
      await elsewhere.cleanup();
    }
    expect(result.code, result.stderr).toBe(0);
    const { plugins } = JSON.parse(result.stdout);
    expect(plugins).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'architecture', origin: `package ${PACKAGE}` })]));
  });
});

// ---- the example's own rules and checks -------------------------------------------------------------------

/** An import specifier found in a source file, with where it is. */
interface Specifier {
  file: string;
  line: number;
  specifier: string;
}

/**
 * Every module specifier a source mentions: static imports and re-exports, side-effect imports, dynamic
 * import(), JSDoc / TypeScript `import('...')` types, `@import ... from`, require(). A dynamic import or
 * require whose argument is not a string literal is reported as `<computed>`: it could reach anything.
 */
function findSpecifiers(file: string, text: string): Specifier[] {
  const found: Specifier[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const patterns = [
    /\bfrom\s*(['"])([^'"\n]+)\1/g,
    /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*[,)]/g,
    /\brequire(?:\.resolve)?\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push({ file, line: lineOf(match.index), specifier: match[2] });
  }
  for (const match of text.matchAll(/\b(?:import|require(?:\.resolve)?)\s*\(\s*(?!(['"])[^'"\n]*\1\s*[,)])/g)) {
    found.push({ file, line: lineOf(match.index), specifier: '<computed>' });
  }
  for (const match of text.matchAll(/\bcreateRequire\b/g)) found.push({ file, line: lineOf(match.index), specifier: '<createRequire>' });
  return found;
}

/** Why a specifier is not allowed in the example, or undefined when it is. */
function disallowed(specifier: string, fromFile: string, packageRoot: string): string | undefined {
  // The public entries: the kernel's and the decoder kit's.
  if (['model-import', 'model-import/decoder-kit', 'model-import/decoder-kit/testing'].includes(specifier)) return undefined;
  if (specifier.startsWith('node:')) return undefined;
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    const target = path.resolve(path.dirname(fromFile), specifier);
    return target.startsWith(packageRoot + path.sep) ? undefined : `relative import leaves the package (${path.relative(packageRoot, target)})`;
  }
  if (specifier.startsWith('model-import/')) return 'a path inside model-import: only the public entries "model-import" and "model-import/decoder-kit" may be imported';
  return 'not model-import, a node: builtin or a file of the package';
}

async function sourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (full.split(path.sep).includes('node_modules')) continue;
    if (entry.isFile() && /\.(c|m)?(j|t)s$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

function violations(files: Array<{ file: string; text: string }>, root: string): string[] {
  const bad: string[] = [];
  for (const { file, text } of files) {
    for (const found of findSpecifiers(file, text)) {
      const why = found.specifier.startsWith('<') ? 'a module reached by a computed name' : disallowed(found.specifier, file, root);
      if (why) bad.push(`${path.relative(root, file)}:${found.line}: ${found.specifier}: ${why}`);
    }
  }
  return bad.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

describe('the example uses model-import only through its public entry point', () => {
  it('its sources import only "model-import", node: builtins and their own files', async () => {
    const files = await sourceFiles(EXAMPLE);
    expect(files.map((f) => path.relative(EXAMPLE, f))).toEqual(expect.arrayContaining(['index.js', 'src/arch-llama.js', 'src/llama-family.js']));
    const texts = await Promise.all(files.map(async (file) => ({ file, text: await fs.readFile(file, 'utf8') })));
    const all = texts.flatMap(({ file, text }) => findSpecifiers(file, text).map((s) => s.specifier));
    expect(all).toContain('model-import'); // the scan sees the imports it is meant to judge
    expect(violations(texts, EXAMPLE)).toEqual([]);
  });

  it('its package.json depends on nothing but a peer model-import', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(EXAMPLE, 'package.json'), 'utf8'));
    expect(pkg.name).toBe(PACKAGE);
    expect(pkg.type).toBe('module');
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.optionalDependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies)).toEqual(['model-import']);
  });

  it('the scan catches deep, escaping, bare and computed imports (so the rule can fail)', () => {
    const file = path.join(EXAMPLE, 'src', 'bad.js');
    const text = [
      "import { Kernel } from 'model-import/dist/src/kernel/kernel.js';",
      "export { fail } from '../../../src/kernel/errors.js';",
      "import 'tapable';",
      "import fs from 'fs';",
      "const q = await import('model-import/arch-qwen');",
      "/** @type {import('model-import/dist/src/kernel/types.js').ModelEntry} */",
      "/** @import { Reporter } from '../../../src/kernel/reporter.js' */",
      "const m = await import(someName);",
      "const r = createRequire(import.meta.url);",
      "const ok = await import('./convert-llama.js');",
      "import { safeJoin } from 'model-import';",
      "import path from 'node:path';",
    ].join('\n');
    const bad = violations([{ file, text }], EXAMPLE);
    expect(bad.map((line) => line.split(': ')[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `src/bad.js:${n}`));
  });
});

/** Runs a command to completion; resolves with its exit code and output. */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe("the example's own checks", () => {
  it('type-checks: its JSDoc types against the .d.ts model-import publishes', async () => {
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', path.join(EXAMPLE, 'tsconfig.json')], EXAMPLE);
    expect(result.code, result.output).toBe(0);
  });

  it('passes its own node:test suite (family, recognize, convert)', async () => {
    const tests = (await fs.readdir(path.join(EXAMPLE, 'test'))).filter((f) => f.endsWith('.test.js')).map((f) => path.join('test', f));
    expect(tests.length).toBeGreaterThanOrEqual(3);
    const result = await run(process.execPath, ['--test', ...tests], EXAMPLE);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/# fail 0/);
  });
});
