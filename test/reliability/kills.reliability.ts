/**
 * 10 imports killed at random moments (SIGINT or SIGKILL, real child processes) against a throttled hub, so there
 * is time to land mid-download, in conversion, in validation or in registration. After each kill the registry is
 * valid JSON, no half model is visible and no process of the import survives; the same command run again
 * succeeds with bit-exact weights, and after a kill mid-download it fetches fewer weight bytes (it resumed).
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub, type RepoFiles } from '../fake-hub/index.js';
import { cleanFailureProblems, errorLine, modelsFolderProblems, readRegistry, weightBytes, weightProblems } from './import-checks.js';
import { runPool } from './run-pool.js';
import { suiteRng } from './seeded-random.js';
import { waitForStderr } from '../support/cli.js';
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { makeMediumModel } from './medium-model.js';
import { processesWithEnv } from './surviving-processes.js';
import { removeWorkspace } from './workspace.js';
import { makeProject } from './test-project.js';

const PARALLEL = 2;
/**
 * Per connection. The downloader writes in 1 MiB batches (and records them about once a second), so the weights are
 * a few MB (medium-model.ts) and take about 6.5 s over two connections; a kill 3.5 s or more into the download
 * finds at least one recorded batch per connection on disk.
 */
const THROTTLE = 500_000;
const SETTINGS = { retryBudgetMs: 5000, stallTimeoutMs: 3000 };

type Moment = 'mid-download' | 'download-start' | 'convert' | 'validate' | 'register';
type Signal = 'SIGINT' | 'SIGKILL';

interface Kill {
  index: number;
  repoId: string;
  name: string;
  files: RepoFiles;
  moment: Moment;
  signal: Signal;
  /** ms after the stage began (mid-download: after the first weight byte was served). */
  at: number;
}

interface Outcome {
  kill: Kill;
  problems: string[];
  summary: string;
}

const rng = suiteRng('kills');
let hub: FakeHub;
let root: string;
const outcomes: Outcome[] = [];
let lockCase = 'not run';
let sweepCase = 'not run';
let sweepBad = 0;

let VARIANTS: RepoFiles[];
const STAGES: Record<Exclude<Moment, 'mid-download'>, string> = {
  'download-start': 'Downloading...',
  convert: 'Converting...',
  validate: 'Validating...',
  register: 'Registering...',
};

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `test` holds (polled), or with false when `gone` settles first. */
async function waitUntil(test: () => boolean, gone: Promise<unknown>, timeoutMs = 60_000): Promise<boolean> {
  let ended = false;
  void gone.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (!ended && Date.now() < deadline) {
    if (test()) return true;
    await sleep(10);
  }
  return false;
}

/**
 * Weight bytes a rerun may skip: what the downloader recorded as on disk in models/.blobs/partial (the sidecars),
 * plus the weight files already verified into the blob store (a kill in conversion or validation keeps them all, so
 * the rerun must fetch nothing).
 */
async function keptPartialBytes(models: string, files: RepoFiles): Promise<number> {
  const dir = path.join(models, '.blobs', 'partial');
  let kept = 0;
  // Sidecars are named by the file's hash; only the weight files' count, as only their bytes are tallied as served.
  const weightKeys = new Set<string>();
  for (const [name, bytes] of Object.entries(files)) {
    if (!/\.(safetensors|bin)$/.test(name)) continue;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    weightKeys.add(sha256);
    const blob = path.join(models, '.blobs', 'sha256', sha256);
    if ((await fs.lstat(blob).catch(() => undefined))?.isFile()) kept += bytes.byteLength;
  }
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json') || !weightKeys.has(name.slice(0, -'.json'.length))) continue;
    try {
      const { done } = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as { done: [number, number][] };
      for (const [start, end] of done) kept += end - start;
    } catch {
      // a sidecar the downloader would ignore too
    }
  }
  return kept;
}

/** The last stage header the import printed before the kill. */
const lastStage = (stderr: string) => stderr.match(/^(Resolving|Checking|Downloading|Converting|Validating|Registering)\S*/gm)?.at(-1) ?? 'none';

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-kills-'));
  VARIANTS = [await makeMediumModel(41), await makeMediumModel(42, 2)];
  hub = await startFakeHub({ throttleBytesPerSecond: THROTTLE });
});

afterAll(async () => {
  await hub?.close();
  const failed = outcomes.filter((o) => o.problems.length > 0);
  for (const o of failed) console.log(`kills: #${o.kill.index} NOT clean: ${o.summary}\n  ${o.problems.join('\n  ')}`);
  console.log(`kills ${outcomes.length ? `${outcomes.length - failed.length}/10 clean` : 'not run'}; Ctrl-C sweep over convert->validate ${sweepCase}; Ctrl-C while waiting for the registry lock: ${lockCase}`);
  await removeWorkspace('kills', root, failed.length === 0 && lockCase !== 'NOT clean' && sweepBad === 0);
});

describe('imports killed at random moments', () => {
  it('10 kills: registry valid, no half model, no survivor; the rerun resumes and succeeds', async () => {
    const moments = shuffle<Moment>(['mid-download', 'mid-download', 'mid-download', 'mid-download', 'download-start', 'convert', 'convert', 'validate', 'validate', 'register']);
    const signals = shuffle<Signal>(['SIGINT', 'SIGINT', 'SIGINT', 'SIGINT', 'SIGINT', 'SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL']);
    const kills: Kill[] = moments.map((moment, index) => ({
      index,
      repoId: `kills/case-${index}`,
      name: `killed-${index}`,
      files: rng.pick(VARIANTS),
      moment,
      signal: signals[index],
      at: moment === 'mid-download' ? rng.int(3500, 5500) : moment === 'validate' ? rng.int(0, 500) : moment === 'download-start' ? rng.int(0, 300) : rng.int(0, 60),
    }));
    for (const kill of kills) hub.addRepo({ id: kill.repoId, files: kill.files });

    await runPool(kills, PARALLEL, async (kill) => {
      const problems: string[] = [];
      const project = await makeProject(path.join(root, `case-${kill.index}`), hub.url, SETTINGS);
      const command = ['import-model', kill.repoId, '--yes', '--name', kill.name, '--on-duplicate', 'overwrite'];
      const total = weightBytes(kill.files);
      const marker = `MODEL_IMPORT_RELIABILITY_RUN=${randomUUID()}`;
      const [key, value] = marker.split('=');

      const { child, done } = project.spawn(command, { [key]: value });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const reached =
        kill.moment === 'mid-download'
          ? await waitUntil(() => hub.weightBytesServed(kill.repoId) > 0, done)
          : await waitUntil(() => stderr.includes(STAGES[kill.moment as Exclude<Moment, 'mid-download'>]), done);
      if (reached) await sleep(kill.at);
      const servedAtKill = hub.weightBytesServed(kill.repoId);
      const landed = lastStage(stderr);
      child.kill(kill.signal);
      const first = await done;
      const servedFirst = hub.weightBytesServed(kill.repoId);
      const kept = await keptPartialBytes(project.models, kill.files);

      // What the kill left: a valid registry, no half model, and no process of the import still running.
      const after = await readRegistry(project.models);
      const nowRegistered = after.ok && Boolean(after.models?.[kill.name]);
      if (first.code === 0 || nowRegistered) {
        // The kill came after the commit: the model must be complete.
        problems.push(...(await weightProblems(path.join(project.models, kill.name), kill.files)));
      }
      if (first.code !== 0 && kill.signal === 'SIGINT') {
        problems.push(...cleanFailureProblems(first, new Set([130])));
        if (!first.stderr.includes('nothing was registered')) problems.push('SIGINT message does not say that nothing was registered');
        else if (nowRegistered) problems.push(`exit ${first.code} says "nothing was registered", but ${kill.name} is registered`);
      } else if (kill.signal === 'SIGKILL' && first.code !== 0 && first.signal !== 'SIGKILL') {
        problems.push(`SIGKILL but the process ended with code ${first.code}, signal ${first.signal}`);
      }
      problems.push(...(await modelsFolderProblems(project.models, { settled: kill.signal === 'SIGINT' })));
      let survivors = await processesWithEnv(marker);
      for (let waited = 0; survivors.length > 0 && waited < 5000; waited += 250) {
        await sleep(250);
        survivors = await processesWithEnv(marker);
      }
      if (survivors.length > 0) {
        problems.push(`processes of the killed import still running 5 s later: ${survivors.map((s) => `${s.pid} ${s.cmdline.slice(0, 120)}`).join('; ')}`);
        for (const s of survivors) process.kill(s.pid, 'SIGKILL');
      }

      // The same command again: it cleans what the kill left, resumes, and succeeds.
      const rerun = await project.run(command);
      const servedRerun = hub.weightBytesServed(kill.repoId) - servedFirst;
      if (rerun.code !== 0) problems.push(`rerun exit ${rerun.code}: ${errorLine(rerun.stderr)}`);
      else {
        problems.push(...(await weightProblems(path.join(project.models, kill.name), kill.files)));
        const registry = await readRegistry(project.models);
        if (!registry.ok || !registry.models?.[kill.name]) problems.push('rerun exit 0 but no registry entry');
      }
      problems.push(...(await modelsFolderProblems(project.models, { settled: true })));
      // Resuming: the rerun fetches no more than what the kill left missing; after a kill well into the download,
      // something was kept, so the rerun fetches less than the whole.
      if (first.code !== 0 && servedRerun > total - kept) problems.push(`the rerun fetched ${servedRerun} weight bytes but only ${total - kept} were missing`);
      const midDownload = kill.moment === 'mid-download' && reached && servedAtKill < total;
      if (midDownload && kept === 0) problems.push(`killed ${kill.at} ms into the download (${servedAtKill}/${total} weight bytes served) but no downloaded byte was kept`);
      if (midDownload && servedRerun >= total) problems.push(`killed mid-download (${servedAtKill}/${total} weight bytes served) but the rerun fetched all ${servedRerun} again`);

      const summary =
        `${kill.signal} at ${kill.moment}${` +${kill.at}ms`} (landed in ${landed}, ` +
        `${servedAtKill}/${total} weight bytes served, ${kept} kept) -> ${first.code ?? first.signal}${first.code && first.code !== 130 ? ` (${errorLine(first.stderr)})` : ''}; rerun exit ${rerun.code}, fetched ${servedRerun} weight bytes`;
      outcomes.push({ kill, problems, summary });
      console.log(`kills: #${kill.index} ${summary}${problems.length ? ' NOT clean' : ''}`);
    });
    expect(outcomes.filter((o) => o.problems.length > 0).map((o) => `#${o.kill.index} ${o.summary}: ${o.problems.join('; ')}`)).toEqual([]);
  });

  // Between conversion and validation the kernel hashes the converted folder; a Ctrl-C there is as legitimate as
  // anywhere else. The ONNX line is the last thing conversion prints, so sweep the moment from it in 1 ms steps
  // (unthrottled, so the stages follow each other as fast as they can).
  it('Ctrl-C swept across the end of conversion: every run ends 130 with one clear line, nothing registered', async () => {
    hub.setThrottle(undefined);
    const files = VARIANTS[0];
    hub.addRepo({ id: 'kills/sweep', files });
    const delays = Array.from({ length: 16 }, (_, i) => i);
    const bad: string[] = [];
    try {
      await runPool(delays, PARALLEL, async (delay) => {
        const project = await makeProject(path.join(root, `sweep-${delay}`), hub.url, SETTINGS);
        const { child, done } = project.spawn(['import-model', 'kills/sweep', '--yes', '--name', 'sweep']);
        await waitForStderr(child, /\n\s*\S+ onnx: /, 60_000);
        if (delay > 0) await sleep(delay);
        child.kill('SIGINT');
        const result = await done;
        const problems = result.code === 0 ? [] : cleanFailureProblems(result, new Set([130]));
        problems.push(...(await modelsFolderProblems(project.models, result.code === 0 ? { settled: true } : { absent: ['sweep'], settled: true })));
        if (problems.length) bad.push(`+${delay} ms (landed in ${lastStage(result.stderr)}) -> exit ${result.code}: ${errorLine(result.stderr)}: ${problems.join('; ')}`);
      });
    } finally {
      hub.setThrottle(THROTTLE);
    }
    sweepCase = `${delays.length - bad.length}/${delays.length} clean`;
    sweepBad = bad.length;
    for (const line of bad) console.log(`kills: sweep NOT clean: ${line}`);
    expect(bad).toEqual([]);
  });

  // The register stage, made wide: another writer holds the registry lock (proper-lockfile's lock folder) while
  // Ctrl-C arrives. Either the import stops unregistered (130) or, if it went through, it says so (0).
  it('Ctrl-C while waiting for the registry lock: the exit status and message match the registry', async () => {
    const files = makeTinyModel({ family: 'qwen2', seed: 43 });
    hub.addRepo({ id: 'kills/lock-wait', files });
    const project = await makeProject(path.join(root, 'lock-wait'), hub.url, SETTINGS);
    await fs.mkdir(path.join(project.models, 'registry.json.lock'), { recursive: true });
    const { child, done } = project.spawn(['import-model', 'kills/lock-wait', '--yes', '--name', 'lock-wait']);
    await waitForStderr(child, 'Registering...', 60_000);
    await sleep(300);
    child.kill('SIGINT');
    await sleep(300);
    await fs.rm(path.join(project.models, 'registry.json.lock'), { recursive: true });
    const result = await done;
    const registry = await readRegistry(project.models);
    const registered = registry.ok && Boolean(registry.models?.['lock-wait']);
    const line = `exit ${result.code}, ${registered ? 'registered' : 'not registered'}: ${errorLine(result.stderr)}`;
    console.log(`kills: Ctrl-C while waiting for the registry lock -> ${line}`);
    lockCase = registered === (result.code === 0) ? 'clean' : 'NOT clean';
    if (lockCase !== 'clean') console.log(`kills: Ctrl-C while waiting for the registry lock NOT clean: ${line}`);
    expect(registered, line).toBe(result.code === 0);
    expect(await modelsFolderProblems(project.models, { settled: true })).toEqual([]);
  });
});
