/**
 * A disk that fills up. The models folder lives on a small tmpfs mounted by the test (we run as root in CI's
 * container; where mounting is not permitted every case is skipped with the reason printed, never silently):
 * - a file system too small from the start: the pre-check refuses before any weight byte (exit 7);
 * - a file system that fills up mid-download (another writer takes the space after the pre-check passed);
 * - one that has room for the download but not for a --dtype f32 rewrite during conversion.
 * Each must fail cleanly: exit 7 with one line naming the disk space, nothing registered, staging removed. Once the
 * space is back, the same command succeeds.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub, type RepoFiles } from '../fake-hub/index.js';
import { cleanFailureProblems, errorLine, modelsFolderProblems, readRegistry, weightProblems } from './import-checks.js';
import { makeMediumModel } from './medium-model.js';
import { removeWorkspace } from './workspace.js';
import { makeProject, type TestProject } from './test-project.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
/** Above the pre-check's 100 MB margin plus the medium model and its f32 rewrite, by a little. */
const ROOMY = '124m';
const THROTTLE = 500_000;

let hub: FakeHub;
let root: string;
let files: RepoFiles;
let skipReason: string | undefined;
const mounts: string[] = [];
const totals: string[] = [];

/** Mounts a tmpfs of `size` at a fresh folder, or returns why it cannot. */
async function mountTmpfs(name: string, size: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Writes a filler file until the file system is full, leaving `leave` bytes (about) free. */
async function fill(dir: string, leave = 0): Promise<void> {
  const handle = await fs.open(path.join(dir, `filler-${mounts.length}-${Date.now()}.bin`), 'w');
  try {
    const { bavail, bsize } = await fs.statfs(dir);
    let budget = Number(bavail) * Number(bsize) - leave;
    for (const chunk of [MB, 64 * 1024, 4096]) {
      const block = Buffer.alloc(chunk, 0x5a);
      while (budget >= chunk) {
        try {
          await handle.write(block);
          budget -= chunk;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const freeBytes = async (dir: string) => {
  const { bavail, bsize } = await fs.statfs(dir);
  return Number(bavail) * Number(bsize);
};

/** Exit 7, one line naming the disk or its space, nothing registered, staging empty. */
async function cleanDiskFailure(result: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }, project: TestProject, name: string): Promise<string[]> {
  const problems = cleanFailureProblems(result, new Set([7]));
  if (!/disk|space|full/i.test(errorLine(result.stderr))) problems.push(`the error does not mention the disk or space: ${errorLine(result.stderr)}`);
  problems.push(...(await modelsFolderProblems(project.models, { absent: [name], settled: true })));
  return problems;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'model-import-diskfull-'));
  try {
    const probe = await mountTmpfs('probe', '64k');
    await run('umount', [probe]);
    mounts.pop();
  } catch (error) {
    skipReason = `cannot mount a tmpfs here (${String((error as Error).message).split('\n')[0]}); the disk-full cases need a small file system`;
    console.log(`disk-full: SKIPPED: ${skipReason}`);
    return;
  }
  files = await makeMediumModel(51);
  hub = await startFakeHub({ repos: [{ id: 'disk/medium', files }] });
});

afterAll(async () => {
  await hub?.close();
  for (const dir of mounts.reverse()) {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]).catch((e) => console.log(`disk-full: could not unmount ${dir}: ${e}`)));
  }
  await removeWorkspace('disk-full', root, totals.every((t) => t.endsWith('clean'))).catch((e) => console.log(`disk-full: could not remove ${root}: ${e}`));
  console.log(skipReason ? `disk-full SKIPPED: ${skipReason}` : `disk-full ${totals.filter((t) => t.endsWith('clean')).length}/${totals.length} clean`);
  for (const line of totals) console.log(`  ${line}`);
});

describe('a disk that fills up', () => {
  it('too small from the start: refused before any weight byte, exit 7', async (ctx) => {
    if (skipReason) return ctx.skip();
    const disk = await mountTmpfs('small', '2m');
    const project = await makeProject(path.join(root, 'small-project'), hub.url);
    const before = hub.weightBytesServed();
    const result = await project.run(['import-model', 'disk/medium', '--yes', '--name', 'small', '--models-dir', path.join(disk, 'models')]);
    const problems = await cleanDiskFailure(result, { ...project, models: path.join(disk, 'models') }, 'small');
    if (hub.weightBytesServed() !== before) problems.push(`${hub.weightBytesServed() - before} weight bytes downloaded before refusing`);
    if (!errorLine(result.stderr).includes(path.join(disk, 'models'))) problems.push('the error does not name the models folder');
    totals.push(`pre-check (2 MB fs): exit ${result.code}: ${errorLine(result.stderr)} -> ${problems.length ? `NOT clean: ${problems.join('; ')}` : 'clean'}`);
    expect(problems).toEqual([]);
  });

  it.for([
    ['mid-download', []],
    ['during conversion (--dtype f32 rewrite)', ['--dtype', 'f32']],
  ] as [string, string[]][])('fills up %s: exit 7, one clear line, nothing registered, staging removed; the rerun succeeds', async ([where, extra], ctx) => {
    if (skipReason) return ctx.skip();
    const label = where.startsWith('mid') ? 'download' : 'convert';
    const disk = await mountTmpfs(label, ROOMY);
    const project = await makeProject(path.join(root, `${label}-project`), hub.url);
    const models = path.join(disk, 'models');
    const command = ['import-model', 'disk/medium', '--yes', '--name', label, '--models-dir', models, ...extra];
    hub.setThrottle(THROTTLE);
    const servedBefore = hub.weightBytesServed();
    const { child, done } = project.spawn(command);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited && hub.weightBytesServed() === servedBefore) await sleep(10);
    await sleep(1000);
    const total = files['model.safetensors'].byteLength;
    // mid-download: take every byte. conversion: leave room for the rest of the download (and the small files),
    // not for the f32 copy of the weights.
    const remaining = total - (hub.weightBytesServed() - servedBefore);
    await fill(disk, label === 'download' ? 0 : remaining + 2 * MB);
    const freeAfterFill = await freeBytes(disk);
    hub.setThrottle(undefined);
    const result = await done;
    const landed = stderr.match(/^(Downloading|Converting|Validating|Registering)\S*/gm)?.at(-1) ?? 'none';
    const problems = await cleanDiskFailure(result, { ...project, models }, label);
    if (result.code === 0) problems.push('the import succeeded on a full disk');

    // The space comes back: the same command succeeds.
    for (const name of await fs.readdir(disk)) if (name.startsWith('filler-')) await fs.rm(path.join(disk, name));
    const rerun = await project.run(command);
    if (rerun.code !== 0) problems.push(`rerun with space back: exit ${rerun.code}: ${errorLine(rerun.stderr)}`);
    else if (label === 'download') problems.push(...(await weightProblems(path.join(models, label), files)));
    const registry = await readRegistry(models);
    if (rerun.code === 0 && !(registry.ok && registry.models?.[label])) problems.push('rerun exit 0 but not registered');
    totals.push(
      `fills ${where} (free after fill ${freeAfterFill} B, landed in ${landed}): exit ${result.code}: ${errorLine(result.stderr)}; rerun exit ${rerun.code} -> ` +
        `${problems.length ? `NOT clean: ${problems.join('; ')}` : 'clean'}`,
    );
    expect(problems).toEqual([]);
  });
});
