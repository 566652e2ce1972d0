/**
 * The fuzz tier: FUZZ_CASES seeded cases (default 500), each an import (or remove/show/list) against the fuzz hub
 * (fuzz-hub.ts: every request answered with the real answer or with seeded garbage) over generated hostile local
 * state (links in .staging and .partial, dangling links, a models folder that is a file, a corrupt registry, a
 * registry entry whose path escapes). Asserted for every case:
 * - no exit 1 and nothing thrown out of the CLI's main: every failure is one of our documented exit codes;
 * - no stack trace, and one `error:` + `hint:` ending on failure; no raw escape or bidi character printed;
 * - no hang: each case ends within HANG_LIMIT_MS (the stall and retry limits are set small for the tier);
 * - nothing outside the models folder changed (a sibling folder the planted links point into is fingerprinted);
 * - the registry is still valid (or, when it was planted corrupt, byte-identical).
 * Most cases run in-process (the CLI's main from dist/, output captured) to fit the time budget; every
 * CLI_SAMPLE-th case also runs as a real child process. Prints the seed and the totals; RELIABILITY_SEED replays.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QWEN2_TINY, standardRepos, startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { REPO_ROOT, runCli, type CliResult } from '../support/cli.js';
import { CLEAN_FAILURE_CODES, cleanFailureProblems, errorLine, readRegistry } from './import-checks.js';
import { startFuzzHub, EVIL_TEXT, type FuzzHub } from './fuzz-hub.js';
import { baseSeed, makeRng, type Rng } from './seeded-random.js';
import { snapshotTree, diffSnapshots } from './tree-snapshot.js';
import { BUILTIN_PLUGINS } from './test-project.js';
import { runPool } from './run-pool.js';

const CASES = Number(process.env.FUZZ_CASES ?? 500);
const CLI_SAMPLE = 25;
/** Cases mostly wait on the stall and retry clocks: several run side by side, in worker processes. */
const WORKERS = 4;
const SETTINGS = { stallTimeoutMs: 250, retryBudgetMs: 700, retryBaseDelayMs: 20, retryMaxDelayMs: 100 };
/** Stall 0.25 s and budget 0.7 s per request; a case is a handful of requests plus conversion. */
const HANG_LIMIT_MS = 20_000;
const DEAD_PID = 2 ** 22 + 4321;

let real: FakeHub;
let fuzz: FuzzHub;
let root: string;
let seed: number;
let configFile: string;
let knownKeys: string[] = [];

beforeAll(async () => {
  seed = baseSeed();
  console.log(`fuzz: seed ${seed} (replay with RELIABILITY_SEED=${seed}), ${CASES} cases`);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mi-fuzz-'));
  real = await startFakeHub({ repos: standardRepos().filter((r) => r.id === QWEN2_TINY), treePageSize: 3 });
  fuzz = await startFuzzHub(real.url, seed, SETTINGS.stallTimeoutMs);
  configFile = path.join(root, 'model-import.config.json');
  await fs.writeFile(configFile, JSON.stringify({ plugins: BUILTIN_PLUGINS, settings: SETTINGS }));
  const tree = (await (await fetch(`${real.url}/api/models/${QWEN2_TINY}/tree/main?recursive=true`)).json()) as { oid?: string; lfs?: { oid?: string } }[];
  knownKeys = tree.flatMap((e) => [e.lfs?.oid, e.oid].filter((k): k is string => typeof k === 'string'));
});

afterAll(async () => {
  await fuzz?.close();
  await real?.close();
  if (root && !process.env.RELIABILITY_KEEP) await fs.rm(root, { recursive: true, force: true });
});

interface Case {
  index: number;
  dir: string;
  models: string;
  outside: string;
  argv: string[];
  state: string;
  corruptRegistry?: Buffer;
  env: Record<string, string | undefined>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Plants hostile local state; returns its label. Links point into `outside`, which must stay as it is. */
async function plantState(rng: Rng, kase: Case): Promise<string> {
  const { models, outside } = kase;
  await fs.mkdir(path.join(outside, 'user-folder'), { recursive: true });
  await fs.writeFile(path.join(outside, 'user-folder', 'precious.txt'), 'the user keeps this');
  await fs.writeFile(path.join(outside, 'precious.bin'), 'do not overwrite');
  const kinds = ['none', 'none', 'staging-link', 'staging-entry-link', 'partial-link', 'partial-file-links', 'dangling', 'models-file', 'models-dangling', 'corrupt-registry', 'registry-escape', 'registry-link', 'staging-file'];
  const picked = new Set<string>();
  for (let i = rng.int(1, 2); i > 0; i--) picked.add(rng.pick(kinds));
  if (picked.has('models-file')) {
    await fs.mkdir(path.dirname(models), { recursive: true });
    await fs.writeFile(models, 'not a folder');
    return 'models-file';
  }
  if (picked.has('models-dangling')) {
    await fs.symlink(path.join(kase.dir, 'nowhere'), models);
    return 'models-dangling';
  }
  await fs.mkdir(models, { recursive: true });
  for (const kind of picked) {
    // Two kinds may want the same path: the first one planted wins.
    await plantOne(kind).catch((error: NodeJS.ErrnoException) => {
      if (!['EEXIST', 'ENOTDIR', 'EISDIR'].includes(error.code ?? '')) throw error;
    });
  }
  return [...picked].sort().join('+');

  async function plantOne(kind: string): Promise<void> {
    switch (kind) {
      case 'staging-link': {
        // A .staging that is a link to a user's folder holding something that looks like an abandoned staging.
        const fake = path.join(outside, 'user-folder', `x.${DEAD_PID}.0123abcd`);
        await fs.mkdir(fake, { recursive: true });
        await fs.writeFile(path.join(fake, 'owner.json'), JSON.stringify({ pid: DEAD_PID, host: os.hostname(), startedAt: '' }));
        await fs.symlink(path.join(outside, 'user-folder'), path.join(models, '.staging'));
        break;
      }
      case 'staging-entry-link':
        await fs.mkdir(path.join(models, '.staging'), { recursive: true });
        await fs.symlink(path.join(outside, 'user-folder'), path.join(models, '.staging', `y.${DEAD_PID}.0123abcd`));
        break;
      case 'staging-file':
        await fs.writeFile(path.join(models, '.staging'), 'in the way');
        break;
      case 'partial-link':
        await fs.symlink(path.join(outside, 'user-folder'), path.join(models, '.partial'));
        break;
      case 'partial-file-links':
        await fs.mkdir(path.join(models, '.partial'), { recursive: true });
        for (const key of knownKeys) {
          await fs.symlink(path.join(outside, 'precious.bin'), path.join(models, '.partial', `${key}.part`)).catch(() => undefined);
          if (rng.chance(0.5)) await fs.symlink(path.join(outside, 'precious.bin'), path.join(models, '.partial', `${key}.json`)).catch(() => undefined);
        }
        break;
      case 'dangling':
        await fs.mkdir(path.join(models, '.partial'), { recursive: true });
        await fs.mkdir(path.join(models, '.staging'), { recursive: true });
        await fs.symlink(path.join(kase.dir, 'gone'), path.join(models, '.partial', `${rng.pick(knownKeys)}.part`)).catch(() => undefined);
        await fs.symlink(path.join(kase.dir, 'gone'), path.join(models, '.staging', `z.${DEAD_PID}.0123abcd`));
        break;
      case 'corrupt-registry': {
        if (picked.has('registry-escape') || picked.has('registry-link')) break;
        const bytes = Buffer.from(rng.pick(['{"models": [', 'null', '[]', '{"models": null}', '\x00\x01garbage', `{"models": {"a": ${'['.repeat(5000)}`]));
        await fs.writeFile(path.join(models, 'registry.json'), bytes);
        kase.corruptRegistry = bytes;
        break;
      }
      case 'registry-escape': {
        if (kase.corruptRegistry) break;
        const evilPath = rng.pick(['../outside/user-folder', '/etc', '../../', 'a/../../outside', EVIL_TEXT[0]]);
        const entry = { model_name: 'victim', model_id: `org/${rng.pick(EVIL_TEXT)}`, path: evilPath };
        await fs.writeFile(path.join(models, 'registry.json'), JSON.stringify({ version: 1, models: { victim: entry } }));
        break;
      }
      case 'registry-link':
        if (kase.corruptRegistry) break;
        await fs.writeFile(path.join(outside, 'registry.json'), JSON.stringify({ version: 1, models: {} }));
        await fs.symlink(path.join(outside, 'registry.json'), path.join(models, 'registry.json'));
        break;
    }
  }
}

function argvFor(rng: Rng, kase: Case): string[] {
  const common = ['--models-dir', kase.models, '--config', configFile];
  const command = rng.int(0, 19);
  if (command === 0) return ['remove', 'victim', '--yes', ...common];
  if (command === 1) return ['show', 'victim', ...common];
  if (command === 2) return ['list', ...common];
  const args = ['import-model', QWEN2_TINY, '--yes', '--name', `m${kase.index}`, ...common];
  if (!rng.chance(0.1)) args.push('--skip-validation'); // most cases: the hub is the target, not the forward pass
  if (rng.chance(0.08)) args.push('--token', rng.pick(['hf_ünïcødé', 'hf_tab\there', 'hf_\u202eabc', 'hf_ok_but_unknown_123']));
  if (rng.chance(0.1)) args.push('--json');
  return args;
}

interface Outcome {
  kase: Case;
  code: number | 'threw' | 'hung';
  problems: string[];
  ms: number;
}

const UNSAFE_PRINTED = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

interface WorkerResult {
  id: number;
  code: number | null;
  hung?: boolean;
  threw?: string;
  stdout: string;
  stderr: string;
}

/** A worker process (fuzz-worker.ts) running cases in-process one at a time; replaced when a case hangs in it. */
class Worker {
  private child = this.start();
  private waiting = new Map<number, (r: WorkerResult) => void>();
  private restarts = 0;

  private start() {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/reliability/fuzz-worker.ts')], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const result = JSON.parse(line) as WorkerResult;
      this.waiting.get(result.id)?.(result);
      this.waiting.delete(result.id);
    });
    child.on('exit', (code) => {
      for (const [id, resolve] of this.waiting) resolve({ id, code: null, threw: `the worker died (exit ${code})`, stdout: '', stderr: '' });
      this.waiting.clear();
      if (this.child === child && ++this.restarts < 20) this.child = this.start();
    });
    return child;
  }

  run(kase: Case): Promise<WorkerResult> {
    if (this.child.exitCode !== null) return Promise.resolve({ id: kase.index, code: null, threw: 'no worker left', stdout: '', stderr: '' });
    const env = Object.fromEntries(Object.entries(kase.env).map(([k, v]) => [k, v ?? null]));
    return new Promise((resolve) => {
      this.waiting.set(kase.index, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id: kase.index, argv: kase.argv, env, hangMs: HANG_LIMIT_MS })}\n`);
    });
  }

  stop(): void {
    const child = this.child;
    this.child = undefined as never;
    child.stdin!.end();
  }
}

async function check(kase: Case, result: CliResult, outsideBefore: Map<string, string>): Promise<string[]> {
  const problems: string[] = [];
  if (result.code === 1) problems.push(`exit 1 (${errorLine(result.stderr)})`);
  else if (result.code !== 0 && result.code !== null && !CLEAN_FAILURE_CODES.has(result.code)) problems.push(`undocumented exit ${result.code}`);
  if (result.code !== 0 && result.code !== null && !kase.argv.includes('--json')) problems.push(...cleanFailureProblems(result).filter((p) => !p.startsWith('exit code')));
  if (/^\s+at \S/m.test(result.stderr)) problems.push('stack trace');
  if (UNSAFE_PRINTED.test(result.stderr) || UNSAFE_PRINTED.test(result.stdout)) {
    const where = UNSAFE_PRINTED.test(result.stderr) ? result.stderr : result.stdout;
    problems.push(`raw control/bidi character printed: ${JSON.stringify(where.slice(Math.max(0, where.search(UNSAFE_PRINTED) - 60), where.search(UNSAFE_PRINTED) + 20))}`);
  }
  for (const change of diffSnapshots(outsideBefore, await snapshotTree(kase.outside))) problems.push(`outside the models folder: ${change}`);
  if (kase.corruptRegistry) {
    const now = await fs.readFile(path.join(kase.models, 'registry.json')).catch(() => Buffer.alloc(0));
    if (sha(now) !== sha(kase.corruptRegistry)) problems.push('a corrupt registry was overwritten');
  } else {
    const stat = await fs.lstat(kase.models).catch(() => undefined);
    if (stat?.isDirectory()) {
      const registry = await readRegistry(kase.models);
      if (!registry.ok) problems.push(registry.problem);
    }
  }
  return problems;
}

it(`fuzz: ${CASES} seeded cases of a hostile hub and hostile local state, no violation`, async () => {
  const outcomes: Outcome[] = [];
  const started = Date.now();
  const workers = Array.from({ length: WORKERS }, () => new Worker());
  const idle = [...workers];
  await runPool(
    Array.from({ length: CASES }, (_, i) => i),
    WORKERS,
    async (index) => {
      const rng = makeRng((seed ^ Math.imul(index + 7, 0x27d4eb2f)) >>> 0);
      const dir = path.join(root, `case-${index}`);
      const kase: Case = {
        index,
        dir,
        models: path.join(dir, 'models'),
        outside: path.join(dir, 'outside'),
        argv: [],
        state: '',
        env: { HF_ENDPOINT: `${fuzz.url}/c${index}`, HF_HOME: path.join(dir, 'hf-home'), HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined, HF_TOKEN_PATH: undefined, HF_HUB_OFFLINE: undefined },
      };
      await fs.mkdir(dir, { recursive: true });
      kase.state = await plantState(rng, kase);
      kase.argv = argvFor(rng, kase);
      const outsideBefore = await snapshotTree(kase.outside);
      const t0 = Date.now();
      const worker = idle.pop()!;
      const { code, hung, threw, stdout, stderr } = await worker.run(kase).finally(() => idle.push(worker));
      const result: CliResult = { code, signal: null, stdout, stderr };
      const problems: string[] = [];
      if (hung) problems.push(`no end after ${HANG_LIMIT_MS / 1000} s`);
      if (threw) problems.push(`main threw: ${threw}`);
      problems.push(...(await check(kase, result, outsideBefore)));
      outcomes.push({ kase, code: hung ? 'hung' : threw ? 'threw' : (result.code as number), problems, ms: Date.now() - t0 });
      if (!process.env.RELIABILITY_KEEP && problems.length === 0) await fs.rm(dir, { recursive: true, force: true });
    },
  );
  for (const worker of workers) worker.stop();
  const inProcessMs = Date.now() - started;

  // A sample through the real CLI (a child process each): the same generated cases, replayed.
  const cliOutcomes: Outcome[] = [];
  for (let index = 0; index < CASES; index += CLI_SAMPLE) {
    const rng = makeRng((seed ^ Math.imul(index + 7, 0x27d4eb2f)) >>> 0);
    const dir = path.join(root, `cli-${index}`);
    const kase: Case = { index: index + 100_000, dir, models: path.join(dir, 'models'), outside: path.join(dir, 'outside'), argv: [], state: '', env: {} };
    kase.env = { HF_ENDPOINT: `${fuzz.url}/c${kase.index}`, HF_HOME: path.join(dir, 'hf-home'), HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined, HF_TOKEN_PATH: undefined, HF_HUB_OFFLINE: undefined };
    await fs.mkdir(dir, { recursive: true });
    kase.state = await plantState(rng, kase);
    kase.argv = argvFor(rng, kase);
    const outsideBefore = await snapshotTree(kase.outside);
    const t0 = Date.now();
    const result = await Promise.race([
      runCli(kase.argv, { cwd: dir, env: kase.env }),
      new Promise<CliResult>((resolve) => setTimeout(() => resolve({ code: null, signal: 'SIGKILL', stdout: '', stderr: 'hung' }), HANG_LIMIT_MS * 2)),
    ]);
    const problems = result.signal ? [`no end after ${(HANG_LIMIT_MS * 2) / 1000} s`] : await check(kase, result, outsideBefore);
    cliOutcomes.push({ kase, code: result.code ?? 'hung', problems, ms: Date.now() - t0 });
    if (!process.env.RELIABILITY_KEEP && problems.length === 0) await fs.rm(dir, { recursive: true, force: true });
  }

  const all = [...outcomes, ...cliOutcomes];
  const bad = all.filter((o) => o.problems.length > 0);
  const codes = new Map<string, number>();
  for (const o of all) codes.set(String(o.code), (codes.get(String(o.code)) ?? 0) + 1);
  const kinds = [...fuzz.kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const slowest = Math.max(...all.map((o) => o.ms));
  console.log(
    `fuzz: seed ${seed}: ${all.length} cases (${outcomes.length} in-process in ${WORKERS} workers in ${(inProcessMs / 1000).toFixed(1)} s, ${cliOutcomes.length} CLI child processes), ` +
      `${bad.length} with violations; exits ${[...codes].sort().map(([c, n]) => `${c} x${n}`).join(', ')}; slowest case ${(slowest / 1000).toFixed(1)} s`,
  );
  console.log(`fuzz: hub answers by kind: ${kinds}`);
  for (const o of bad.slice(0, 30)) console.log(`fuzz: case ${o.kase.index} [${o.kase.state}] ${o.kase.argv.filter((a) => !a.startsWith('/')).join(' ')} -> ${o.code}: ${o.problems.join('; ')}`);
  expect(all.length).toBeGreaterThanOrEqual(CASES);
  expect(bad.map((o) => `case ${o.kase.index} [${o.kase.state}] -> ${o.code}: ${o.problems.join('; ')}`)).toEqual([]);
});
