/**
 * Eight real import processes at once into one models folder (one registry.json under its lock). Every entry must
 * land, each folder complete and bit-exact, the registry valid, nothing left in staging.
 * - 8 repos that share no file (the registry and staging alone are shared);
 * - 8 names over the standard repos, three of them the same repo: their downloads share models/.partial, which is
 *   keyed by content hash (identical LICENSE, tokenizer or generation_config files across repos share it too);
 * - 8 repos under one --name with --on-duplicate rename: eight distinct names.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  QWEN2_BIN,
  QWEN2_MOE_TINY,
  QWEN2_SHARDED,
  QWEN2_TINY,
  QWEN3_MOE_TINY,
  QWEN3_TINY,
  standardRepos,
  startFakeHub,
  type FakeHub,
  type RepoFiles,
} from '../fake-hub/index.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { errorLine, modelsFolderProblems, readRegistry, weightProblems } from './import-checks.js';
import { runPool } from './run-pool.js';
import { removeWorkspace } from './workspace.js';
import { makeProject, type TestProject } from './test-project.js';

let hub: FakeHub;
let root: string;
let filesOf: Map<string, RepoFiles>;
const totals: string[] = [];
const DISTINCT = Array.from({ length: 8 }, (_, i) => `distinct/repo-${i}`);

/**
 * A tiny Qwen2 whose every file differs from the other seven: weights by seed; text files by trailing whitespace
 * (JSON and prose read the same); vocab.json and merges.txt left out (tokenizer.json carries the same tokenizer).
 */
function distinctRepo(i: number): RepoFiles {
  const files = makeTinyModel({ family: i % 2 ? 'qwen3' : 'qwen2', seed: 200 + i });
  delete files['vocab.json'];
  delete files['merges.txt'];
  for (const name of Object.keys(files)) {
    if (name.endsWith('.safetensors')) continue;
    files[name] = new Uint8Array([...files[name], ...new TextEncoder().encode(' '.repeat(i + 1) + '\n')]);
  }
  return files;
}
let allClean = true;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-concurrent-'));
  const repos = [...standardRepos(), ...DISTINCT.map((id, i) => ({ id, files: distinctRepo(i) }))];
  filesOf = new Map(repos.map((r) => [r.id, r.files]));
  // A little throttle so the eight runs overlap in every stage, not one after the other.
  hub = await startFakeHub({ repos, throttleBytesPerSecond: 400_000 });
});

afterAll(async () => {
  await hub?.close();
  for (const line of totals) console.log(line);
  await removeWorkspace('concurrent', root, allClean);
});

async function checkModel(project: TestProject, name: string, repoId: string): Promise<string[]> {
  const files = filesOf.get(repoId)!;
  const dir = path.join(project.models, name);
  // pytorch_model.bin is converted, so its bytes differ by design; the rest keep the served safetensors.
  if (repoId === QWEN2_BIN) return (await fs.stat(path.join(dir, 'model.safetensors')).then(() => [], () => [`${name}: no model.safetensors`]));
  return (await weightProblems(dir, files)).map((p) => `${name}: ${p}`);
}

describe('concurrent imports into one registry', () => {
  async function eightAtOnce(label: string, jobs: { repoId: string; name: string }[]): Promise<string[]> {
    const project = await makeProject(path.join(root, label), hub.url);
    const started = Date.now();
    const results = await Promise.all(jobs.map((job) => project.run(['import-model', job.repoId, '--yes', '--name', job.name])));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const problems: string[] = [];
    results.forEach((r, i) => r.code !== 0 && problems.push(`${jobs[i].name} (${jobs[i].repoId}) exit ${r.code}: ${errorLine(r.stderr)}`));
    const registry = await readRegistry(project.models);
    if (!registry.ok) problems.push(registry.problem);
    else {
      const names = Object.keys(registry.models ?? {}).sort();
      const expected = jobs.map((j) => j.name).sort();
      if (JSON.stringify(names) !== JSON.stringify(expected)) problems.push(`registry holds [${names.join(', ')}]; expected [${expected.join(', ')}]`);
    }
    for (const job of jobs) if (results[jobs.indexOf(job)].code === 0) problems.push(...(await checkModel(project, job.name, job.repoId)));
    problems.push(...(await modelsFolderProblems(project.models, { settled: true })));
    const list = await project.run(['list']);
    if (list.code !== 0) problems.push(`list exit ${list.code}`);
    // Every registered model re-checks: hashes of every file, load, forward pass.
    const landed = jobs.filter((_, i) => results[i].code === 0);
    const verified = await runPool(landed, 2, (job) => project.run(['verify', job.name]));
    verified.forEach((r, i) => r.code !== 0 && problems.push(`verify ${landed[i].name} exit ${r.code}: ${errorLine(r.stderr)}`));
    const registered = registry.ok ? Object.keys(registry.models ?? {}).length : 0;
    totals.push(`concurrent ${label}: ${problems.length ? `NOT clean, ${registered}/8 registered` : '8/8 clean'} (8 processes, one registry, ${seconds}s)`);
    for (const p of problems) console.log(`concurrent ${label}: ${p}`);
    if (problems.length) allClean = false;
    return problems;
  }

  it('8 repos that share no file, at once: every entry present, complete and bit-exact', async () => {
    expect(await eightAtOnce('distinct-repos', DISTINCT.map((repoId, i) => ({ repoId, name: `distinct-${i}` })))).toEqual([]);
  });

  it('8 names at once over repos that share files (one repo three times): every entry present', async () => {
    const jobs = [
      { repoId: QWEN2_TINY, name: 'same-repo-a' },
      { repoId: QWEN2_TINY, name: 'same-repo-b' },
      { repoId: QWEN2_TINY, name: 'same-repo-c' },
      { repoId: QWEN3_TINY, name: 'qwen3' },
      { repoId: QWEN2_SHARDED, name: 'sharded' },
      { repoId: QWEN2_BIN, name: 'from-bin' },
      { repoId: QWEN2_MOE_TINY, name: 'qwen2-moe' },
      { repoId: QWEN3_MOE_TINY, name: 'qwen3-moe' },
    ];
    expect(await eightAtOnce('shared-files', jobs)).toEqual([]);
  });

  it('8 repos under one --name with --on-duplicate rename, at once: 8 distinct entries', async () => {
    const project = await makeProject(path.join(root, 'same-name'), hub.url);
    const results = await Promise.all(
      DISTINCT.map((repoId) => project.run(['import-model', repoId, '--yes', '--name', 'twin', '--on-duplicate', 'rename', '--json'])),
    );
    const problems: string[] = [];
    const names: string[] = [];
    const repoOf = new Map<string, string>();
    results.forEach((r, i) => {
      if (r.code !== 0) problems.push(`${DISTINCT[i]} exit ${r.code}: ${errorLine(r.stderr)}`);
      else {
        const name = (JSON.parse(r.stdout) as { model: { model_name: string } }).model.model_name;
        names.push(name);
        repoOf.set(name, DISTINCT[i]);
      }
    });
    if (new Set(names).size !== names.length) problems.push(`names reported twice: ${names.sort().join(', ')}`);
    const registry = await readRegistry(project.models);
    if (!registry.ok) problems.push(registry.problem);
    else if (Object.keys(registry.models ?? {}).length !== 8) problems.push(`registry holds ${Object.keys(registry.models ?? {}).join(', ')}`);
    for (const name of names) problems.push(...(await checkModel(project, name, repoOf.get(name)!)));
    problems.push(...(await modelsFolderProblems(project.models, { settled: true })));
    totals.push(`concurrent same-name ${problems.length ? 'NOT clean' : '8/8 clean'} (${names.sort().join(', ')})`);
    for (const p of problems) console.log(`concurrent: ${p}`);
    if (problems.length) allClean = false;
    expect(problems).toEqual([]);
  });
});
