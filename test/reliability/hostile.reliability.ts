/**
 * A corpus of hostile inputs through the real CLI: repo ids and --name values, hub listings with escaping paths
 * and lying sizes or hashes, broken config.json files, hostile safetensors headers and pickles served as the
 * weights (with true LFS oids), and a broken local state (registry.json and friends). Each must end with one clear
 * line and a documented non-zero exit (never 1, "a bug"), register nothing, run no pickled code, and write nothing
 * outside the models folder: the project folder and the parent temp folder are fingerprinted before and after.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_PATHS, HUGE_DECLARED, QWEN2_TINY, standardRepos, startFakeHub, type FakeHub, type FakeRepo, type RepoFiles } from '../fake-hub/index.js';
import { HOSTILE_MARKER, makeHostilePickles, makeTinyModel } from '../fixtures/tiny-models.js';
import type { CliResult } from '../support/cli.js';
import { cleanFailureProblems, errorLine, modelsFolderProblems, readRegistry, sha256 } from './import-checks.js';
import { hostileSafetensors } from './hostile-safetensors.js';
import { runPool } from './run-pool.js';
import { diffSnapshots, snapshotTree } from './tree-snapshot.js';
import { removeWorkspace } from './workspace.js';
import { makeProject } from './test-project.js';

const PARALLEL = 3;
const SETTINGS = { retryBudgetMs: 1500, stallTimeoutMs: 1000 };
/** A hostile input must not make an import hang. */
const CASE_TIMEOUT_MS = 90_000;

interface HostileCase {
  id: string;
  /** import-model arguments after the command (repo id first), or a full argv when `argv` is set. */
  args: string[];
  /** Exit codes that are the right answer (all documented, non-zero). */
  codes: number[];
  /** A harmless oddity the importer may accept: then it must be registered, complete, and nothing else written. */
  mayImport?: boolean;
  /** Prepares the models folder (broken local state) for the import of `name`; the returned files (relative to the
   *  models folder) must be left byte-identical. */
  setup?: (models: string, name: string) => Promise<string[]>;
}

interface Outcome {
  kase: HostileCase;
  result: CliResult;
  problems: string[];
}

const text = (s: string) => new TextEncoder().encode(s);
let hub: FakeHub;
let parent: string;
const outcomes: Outcome[] = [];
let globalChanges: string[] = [];

const tiny = (seed: number, extra: RepoFiles = {}) => ({ ...makeTinyModel({ family: 'qwen2', seed }), ...extra });

function buildCorpus(): { cases: HostileCase[]; repos: FakeRepo[] } {
  const cases: HostileCase[] = [];
  const repos: FakeRepo[] = [];
  let seed = 600;
  const hubCase = (id: string, repo: Omit<FakeRepo, 'id'>, codes: number[], extraArgs: string[] = []) => {
    const repoId = `hostile/case-${cases.length}`;
    repos.push({ id: repoId, ...repo });
    cases.push({ id, args: [repoId, '--yes', '--name', `h${cases.length}`, ...extraArgs], codes });
  };

  // Repo ids: refused as usage errors before any request (2), or, if well-formed, not found on the hub (5). Ids
  // that look like paths go to source-local (a local folder import), which finds no model folder there (11).
  for (const repoId of ['../x', 'a/b/c', 'a b', '', 'x'.repeat(300), `org/${'n'.repeat(200)}`, '--', '..', '/abs', 'org/..', 'org/.', 'a\\b', 'org/name?x=1', 'org/na%2Fme', 'https://evil.example/org/x', 'org/naïve']) {
    const pathLike = repoId.startsWith('.') || repoId.startsWith('/');
    cases.push({ id: `repo id ${JSON.stringify(repoId.length > 40 ? `${repoId.slice(0, 12)}...(${repoId.length})` : repoId)}`, args: [repoId, '--yes', '--name', `r${cases.length}`], codes: pathLike ? [2, 5, 11] : [2, 5] });
  }
  // --name values: refused before anything (2).
  const good = QWEN2_TINY;
  for (const name of ['../x', 'a/b', '', 'CON', 'nul', 'COM1', '.hidden', 'x'.repeat(65), 'name.', 'name-', 'a..b', ' ', 'ünïcode', 'tab\there']) {
    cases.push({ id: `--name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}...(${name.length})` : name)}`, args: [good, '--yes', '--name', name], codes: [2] });
  }
  // Hub listings with paths that escape: refused (11) before anything is written, or never fetched.
  const hostilePaths = standardRepos().find((r) => r.id === HOSTILE_PATHS)!;
  repos.push(hostilePaths);
  cases.push({ id: 'hub: tiny-org/hostile-paths (../escape.json, sub/../../x, /abs, a\\b)', args: [HOSTILE_PATHS, '--yes', '--name', 'hp'], codes: [11] });
  for (const escape of ['../config.json', '../../model.safetensors', 'tokenizer/../../../../escape.json', '/etc/model.safetensors', 'C:\\model.safetensors', 'sub/./../../x.safetensors']) {
    hubCase(`hub: listed path ${JSON.stringify(escape)}`, { files: tiny(seed++), extraTreeEntries: [{ path: escape, size: 100 }] }, [11]);
  }
  // Lying sizes and hashes (the bytes served are real; the listing lies).
  hubCase('hub: model.safetensors listed smaller than served', { files: tiny(seed++), declaredSizes: { 'model.safetensors': 1000 } }, [8, 11]);
  hubCase('hub: model.safetensors listed larger than served', { files: tiny(seed++), declaredSizes: { 'model.safetensors': 500_000 } }, [8, 11]);
  hubCase('hub: tokenizer.json listed smaller than served', { files: tiny(seed++), declaredSizes: { 'tokenizer.json': 10 } }, [8, 11]);
  hubCase('hub: config.json listed as 50 MB', { files: tiny(seed++), declaredSizes: { 'config.json': 50_000_000 } }, [8, 11]);
  repos.push(standardRepos().find((r) => r.id === HUGE_DECLARED)!);
  cases.push({ id: 'hub: tiny-org/huge-declared (10 PB listed)', args: [HUGE_DECLARED, '--yes', '--name', 'huge'], codes: [7, 8, 11] });
  {
    const files = tiny(seed++);
    const weights = files['model.safetensors'];
    delete files['model.safetensors'];
    const wrong = sha256(text('not the weights'));
    hubCase('hub: LFS oid of model.safetensors is not its sha256', { files, lazyFiles: { 'model.safetensors': { size: weights.length, sha256: wrong, read: (s, e) => weights.subarray(s, e) } } }, [8]);
  }
  // config.json that is not a model config.
  const configs: Record<string, string> = {
    'not JSON': '{ "architectures": ["Qwen2ForCausalLM"], ',
    'a JSON array': '[{"architectures": ["Qwen2ForCausalLM"]}]',
    'a JSON string': '"Qwen2ForCausalLM"',
    'null': 'null',
    'an empty object': '{}',
    'architectures a string': null as unknown as string,
    'hidden_size 1e12': null as unknown as string,
    'num_hidden_layers 1e9': null as unknown as string,
    'num_attention_heads 0': null as unknown as string,
    'vocab_size -1': null as unknown as string,
    'hidden_size "64" (a string)': null as unknown as string,
    '__proto__ key': null as unknown as string,
    'nested 100000 deep': `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
  };
  const base = JSON.parse(new TextDecoder().decode(tiny(1)['config.json'])) as Record<string, unknown>;
  const withField = (changes: Record<string, unknown>) => JSON.stringify({ ...base, ...changes });
  configs['architectures a string'] = withField({ architectures: 'Qwen2ForCausalLM' });
  configs['hidden_size 1e12'] = withField({ hidden_size: 1e12 });
  configs['num_hidden_layers 1e9'] = withField({ num_hidden_layers: 1e9 });
  configs['num_attention_heads 0'] = withField({ num_attention_heads: 0 });
  configs['vocab_size -1'] = withField({ vocab_size: -1 });
  configs['hidden_size "64" (a string)'] = withField({ hidden_size: '64' });
  configs['__proto__ key'] = `{"__proto__": {"hidden_size": 1e12, "polluted": true}, ${withField({}).slice(1)}`;
  for (const [what, content] of Object.entries(configs)) {
    hubCase(`config.json: ${what}`, { files: tiny(seed++, { 'config.json': text(content) }) }, [3, 11]);
    // model_type still says qwen2 and every size is right, so these two may be accepted.
    if (what === 'architectures a string' || what === '__proto__ key') cases[cases.length - 1].mayImport = true;
  }
  // Hostile safetensors headers, served as model.safetensors (the listing's oid is their true sha256).
  for (const [what, bytes] of Object.entries(hostileSafetensors(tiny(seed++)['model.safetensors']))) {
    hubCase(what, { files: tiny(seed++, { 'model.safetensors': bytes }) }, what.includes('NaN') ? [9] : [11]);
  }
  // Hostile pickles served as pytorch_model.bin.
  for (const [what, bytes] of Object.entries(makeHostilePickles())) {
    hubCase(`pickle: ${what}`, { files: { ...makeTinyModel({ family: 'qwen2', seed: seed++, weightsFormat: 'pytorch-bin' }), 'pytorch_model.bin': bytes } }, [11]);
  }
  // Broken local state: refused (12), and the broken files left exactly as they were.
  const state = (id: string, setup: HostileCase['setup'], codes = [12]) => cases.push({ id, args: [good, '--yes', '--name', `s${cases.length}`], codes, setup });
  const registryWith = (content: string) => async (models: string) => {
    await fs.mkdir(models, { recursive: true });
    await fs.writeFile(path.join(models, 'registry.json'), content);
    return ['registry.json'];
  };
  state('registry.json: not JSON', registryWith('{"models": {"a": '));
  state('registry.json: a JSON array', registryWith('[]'));
  state('registry.json: "models" is an array', registryWith('{"version": 1, "models": []}'));
  state('registry.json: empty file', registryWith(''));
  state('registry.json: null', registryWith('null'));
  state('registry.json: a directory', async (models) => {
    await fs.mkdir(path.join(models, 'registry.json'), { recursive: true });
    return [];
  });
  state('models/<name> exists but is not registered', async (models, name) => {
    await fs.mkdir(path.join(models, name), { recursive: true });
    await fs.writeFile(path.join(models, name, 'precious.txt'), 'user data');
    return [`${name}/precious.txt`];
  });
  state('models/.staging is a file', async (models) => {
    await fs.mkdir(models, { recursive: true });
    await fs.writeFile(path.join(models, '.staging'), 'not a folder');
    return ['.staging'];
  });
  return { cases, repos };
}

const corpus = buildCorpus();

beforeAll(async () => {
  parent = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-hostile-'));
  await fs.mkdir(path.join(parent, 'hf-home'));
  await fs.writeFile(path.join(parent, 'canary.txt'), 'must stay as it is');
  hub = await startFakeHub({ repos: [...corpus.repos, standardRepos().find((r) => r.id === QWEN2_TINY)!] });
  await fs.rm(HOSTILE_MARKER, { force: true });
});

afterAll(async () => {
  await hub?.close();
  const bad = outcomes.filter((o) => o.problems.length > 0);
  const codes = new Map<number | null, number>();
  for (const o of outcomes) codes.set(o.result.code, (codes.get(o.result.code) ?? 0) + 1);
  if (process.env.RELIABILITY_VERBOSE) for (const o of outcomes) console.log(`hostile: ${o.kase.id} -> exit ${o.result.code}: ${errorLine(o.result.stderr)}`);
  for (const o of bad) console.log(`hostile: NOT clean: ${o.kase.id} -> exit ${o.result.code}: ${errorLine(o.result.stderr)}\n  ${o.problems.join('\n  ')}`);
  for (const change of globalChanges) console.log(`hostile: written outside a models folder: ${change}`);
  const tolerated = outcomes.filter((o) => o.kase.mayImport && o.result.code === 0).map((o) => o.kase.id);
  if (tolerated.length) console.log(`hostile: accepted as harmless (registered, complete): ${tolerated.join('; ')}`);
  console.log(
    `hostile ${outcomes.length - bad.length}/${corpus.cases.length} clean (exits: ${[...codes].sort((a, b) => Number(a[0]) - Number(b[0])).map(([c, n]) => `${c} x${n}`).join(', ')})` +
      `${globalChanges.length ? `; ${globalChanges.length} writes outside the models folders` : ''}`,
  );
  await removeWorkspace('hostile', parent, bad.length === 0 && globalChanges.length === 0);
});

describe('hostile inputs', () => {
  it(`a corpus of ${corpus.cases.length} hostile inputs: one clear line each, documented exit, nothing written outside the models folder`, async () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(30);
    const outsideModels = (rel: string) => /(^|\/)models(\/|$)/.test(rel);
    const projects = await Promise.all(corpus.cases.map((_, i) => makeProject(path.join(parent, `case-${i}`), hub.url, SETTINGS)));
    for (const project of projects) project.env.HF_HOME = path.join(parent, 'hf-home');
    const before = await snapshotTree(parent, outsideModels);

    await runPool(corpus.cases, PARALLEL, async (kase, i) => {
      const project = projects[i];
      const nameAt = kase.args.indexOf('--name');
      const name = nameAt >= 0 ? kase.args[nameAt + 1] : undefined;
      const kept = kase.setup ? await kase.setup(project.models, name!) : [];
      const keptBytes = new Map(await Promise.all(kept.map(async (rel) => [rel, sha256(await fs.readFile(path.join(project.models, rel)))] as const)));
      const projectBefore = await snapshotTree(project.dir, outsideModels);
      const { child, done } = project.spawn(['import-model', ...kase.args]);
      const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
      const result = await done;
      clearTimeout(timer);
      const problems: string[] = [];
      const accepted = kase.mayImport && result.code === 0;
      if (result.signal === 'SIGKILL') problems.push(`still running after ${CASE_TIMEOUT_MS / 1000} s (killed)`);
      if (accepted) {
        const registry = await readRegistry(project.models);
        if (!registry.ok || !registry.models?.[name!]) problems.push('exit 0 but not registered');
        problems.push(...(await modelsFolderProblems(project.models, { settled: true })));
      } else {
        problems.push(...cleanFailureProblems(result));
        if (result.code !== null && !kase.codes.includes(result.code)) problems.push(`exit ${result.code}, expected ${kase.codes.join(' or ')}`);
        if (!kase.setup) problems.push(...(await modelsFolderProblems(project.models, { absent: name && /^[\w.-]+$/.test(name) ? [name] : [], settled: true })));
      }
      for (const [rel, hash] of keptBytes) {
        const now = await fs.readFile(path.join(project.models, rel)).then(sha256, () => 'missing');
        if (now !== hash) problems.push(`${rel} was ${now === 'missing' ? 'removed' : 'modified'}`);
      }
      for (const change of diffSnapshots(projectBefore, await snapshotTree(project.dir, outsideModels))) problems.push(`outside the models folder: ${change}`);
      outcomes.push({ kase, result, problems });
    });

    globalChanges = diffSnapshots(before, await snapshotTree(parent, outsideModels));
    const escaped = ['/abs', '/escape.json', '/x', path.join(os.tmpdir(), 'escape.json'), path.join(os.tmpdir(), 'x')].filter((p) => existsSync(p));
    globalChanges.push(...escaped.map((p) => `exists: ${p}`));
    if (existsSync(HOSTILE_MARKER)) globalChanges.push(`a pickle payload ran: ${HOSTILE_MARKER} exists`);
    expect(outcomes.filter((o) => o.problems.length > 0).map((o) => `${o.kase.id} -> exit ${o.result.code}: ${errorLine(o.result.stderr)}: ${o.problems.join('; ')}`)).toEqual([]);
    expect(globalChanges).toEqual([]);
  });
});
