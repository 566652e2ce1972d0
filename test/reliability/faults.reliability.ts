/**
 * 50 imports through the real CLI while the fake hub misbehaves at random: connections dropped at random offsets,
 * 5xx and 429 bursts, stalls longer and shorter than the stall timeout, resets, and mixes of them, sometimes for
 * good. Each import must end registered with bit-exact weights, or failed with one clear line, a documented exit
 * code, nothing registered and nothing half-made in the models folder.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub, type Fault, type RepoFiles } from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { cleanFailureProblems, errorLine, modelsFolderProblems, readRegistry, weightProblems } from './import-checks.js';
import { runPool } from './run-pool.js';
import { suiteRng, type Rng } from './seeded-random.js';
import { removeWorkspace } from './workspace.js';
import { makeProject } from './test-project.js';

const CASES = 50;
const PARALLEL = 3;
const SETTINGS = { retryBudgetMs: 3000, stallTimeoutMs: 1000 };

interface Case {
  index: number;
  repoId: string;
  name: string;
  files: RepoFiles;
  faults: Fault[];
  /** One short description per fault, for the report. */
  labels: string[];
  /** A fault that can never let the import through (status/reset on a needed file, for good). */
  mustFail: boolean;
}

interface Outcome {
  kase: Case;
  code: number | null;
  problems: string[];
  summary: string;
}

const rng: Rng = suiteRng('faults');
let hub: FakeHub;
let root: string;
const outcomes: Outcome[] = [];

const VARIANTS: RepoFiles[] = [
  makeTinyModel({ family: 'qwen2', seed: 31 }),
  makeTinyModel({ family: 'qwen2', seed: 32, shards: 3 }),
  makeTinyModel({ family: 'qwen3', seed: 33 }),
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Files every import downloads (config, tokenizer, weights, license), as opposed to README.md and .gitattributes. */
const needed = (files: RepoFiles) => Object.keys(files).filter((p) => p !== 'README.md' && p !== '.gitattributes');

function randomFaults(r: Rng, repoId: string, files: RepoFiles): { faults: Fault[]; labels: string[]; mustFail: boolean } {
  const weights = Object.keys(files).filter((p) => p.endsWith('.safetensors'));
  const faults: Fault[] = [];
  const labels: string[] = [];
  let mustFail = false;
  const count = r.int(1, 3);
  for (let k = 0; k < count; k++) {
    // Mostly the weights (where the bytes are), sometimes any needed file, sometimes every response of the repo.
    const where = r.next();
    const file = where < 0.65 ? r.pick(weights) : where < 0.9 ? r.pick(needed(files)) : undefined;
    const size = file ? files[file].byteLength : 4096;
    const pathPattern = new RegExp(`^/${escapeRegExp(repoId)}/(resolve|raw)/.*${file ? `/${escapeRegExp(file)}` : ''}$`);
    const forGood = r.chance(0.08);
    const times = (n: number) => (forGood ? 100_000 : n);
    const kind = r.pick(['drop-after', 'drop-after', 'status', 'stall', 'reset'] as const);
    if (kind === 'drop-after') {
      faults.push({ kind, bytes: r.int(0, Math.max(0, size - 1)), path: pathPattern, times: times(r.int(1, 4)) });
    } else if (kind === 'status') {
      faults.push({ kind, status: r.pick([500, 502, 503, 504, 429]), path: pathPattern, times: times(r.int(1, 6)) });
      if (forGood) mustFail = true;
    } else if (kind === 'stall') {
      // Longer than stallTimeoutMs (must be cut and retried) or shorter (must just be waited out).
      const ms = r.chance(0.7) ? r.int(1500, 4000) : r.int(100, 600);
      faults.push({ kind, afterBytes: r.int(0, Math.max(0, size - 1)), ms, path: pathPattern, times: times(r.int(1, 2)) });
    } else {
      faults.push({ kind, path: pathPattern, times: times(r.int(1, 3)) });
      if (forGood) mustFail = true;
    }
    labels.push(`${describeFault(faults[faults.length - 1])} ${file ?? '*'}`);
    // The hub applies the first matching fault: a fault that dooms the import goes first, or an earlier passing
    // fault (a short stall) would serve the whole file and the import would rightly succeed.
    if (mustFail && (kind === 'status' || kind === 'reset') && forGood) {
      faults.unshift(faults.pop()!);
      labels.unshift(labels.pop()!);
    }
  }
  return { faults, labels, mustFail };
}

function describeFault(f: Fault): string {
  const times = f.times === 100_000 ? 'always' : `x${f.times}`;
  const what = f.kind === 'drop-after' ? `drop@${f.bytes}` : f.kind === 'status' ? `${f.status}` : f.kind === 'stall' ? `stall@${f.afterBytes} ${f.ms}ms` : 'reset';
  return `${what} ${times}`;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-faults-'));
  hub = await startFakeHub({});
});

afterAll(async () => {
  await hub?.close();
  const failed = outcomes.filter((o) => o.problems.length > 0);
  const registered = outcomes.filter((o) => o.code === 0).length;
  const codes = new Map<string, number>();
  for (const o of outcomes) if (o.code !== 0) codes.set(String(o.code), (codes.get(String(o.code)) ?? 0) + 1);
  for (const o of failed) console.log(`faults: case ${o.kase.index} NOT clean: ${o.summary}\n  ${o.problems.join('\n  ')}`);
  console.log(
    `faults ${outcomes.length - failed.length}/${CASES} clean (${registered} registered bit-exact, ${outcomes.length - registered} failed cleanly` +
      `${codes.size ? `: ${[...codes].map(([c, n]) => `exit ${c} x${n}`).join(', ')}` : ''})`,
  );
  await removeWorkspace('faults', root, failed.length === 0);
});

describe('imports under random hub faults', () => {
  it(`${CASES} imports each end registered bit-exact or failed cleanly`, async () => {
    const cases: Case[] = Array.from({ length: CASES }, (_, index) => {
      const repoId = `faults/case-${String(index).padStart(2, '0')}`;
      const files = rng.pick(VARIANTS);
      const { faults, labels, mustFail } = randomFaults(rng, repoId, files);
      return { index, repoId, name: `case-${String(index).padStart(2, '0')}`, files, faults, labels, mustFail };
    });
    for (const kase of cases) {
      hub.addRepo({ id: kase.repoId, files: kase.files });
      for (const fault of kase.faults) hub.inject(fault);
    }
    await runPool(cases, PARALLEL, async (kase) => {
      const project = await makeProject(path.join(root, kase.name), hub.url, SETTINGS);
      const started = Date.now();
      const result = await project.run(['import-model', kase.repoId, '--yes', '--name', kase.name]);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const problems: string[] = [];
      if (result.code === 0) {
        if (kase.mustFail) problems.push('registered although a needed file never came through');
        const registry = await readRegistry(project.models);
        if (!registry.ok || !registry.models?.[kase.name]) problems.push('exit 0 but no registry entry');
        problems.push(...(await weightProblems(path.join(project.models, kase.name), kase.files)));
        problems.push(...(await modelsFolderProblems(project.models, { settled: true })));
      } else {
        problems.push(...cleanFailureProblems(result));
        problems.push(...(await modelsFolderProblems(project.models, { absent: [kase.name], settled: true })));
      }
      const summary = `[${kase.labels.join('; ')}] -> exit ${result.code} in ${seconds}s${result.code === 0 ? '' : `: ${errorLine(result.stderr)}`}`;
      outcomes.push({ kase, code: result.code, problems, summary });
      if (process.env.RELIABILITY_VERBOSE) console.log(`faults: case ${kase.index} ${summary}`);
    });
    expect(outcomes.filter((o) => o.problems.length > 0).map((o) => `case ${o.kase.index}: ${o.summary}: ${o.problems.join('; ')}`)).toEqual([]);
  });
});
