/**
 * A registered model is on disk before the registry names it: the real CLI runs under strace, and the system
 * calls it made show every file of the model fsynced before the folder is renamed into place, the models folder
 * fsynced after that rename, and only then the registry file renamed over the old one.
 * Needs strace (Debian package strace; .ci/run installs it).
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTinyModel, writeRepoFiles } from '../fixtures/tiny-models.js';
import { BIN } from '../support/cli.js';
import { listTree, tempDir } from '../support/temp.js';

const hasStrace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('durability-')));
afterEach(async () => cleanup());

interface Call {
  name: string;
  args: string;
}

/**
 * `fsync(12</a/b>) = 0` and `renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", 0) = 0`, successful calls only, in the
 * order they returned. A call another thread interrupted is split over two lines (`<unfinished ...>`, then
 * `<... fsync resumed>) = 0`): it counts where it returned.
 */
function parseTrace(log: string): Call[] {
  const calls: Call[] = [];
  const unfinished = new Map<string, Call>();
  for (const line of log.split('\n')) {
    const started = /^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$/.exec(line);
    if (started) {
      unfinished.set(started[1], { name: started[2], args: started[3] });
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>.*\)\s+=\s+(-?\d+)/.exec(line);
    if (resumed) {
      const call = unfinished.get(resumed[1]);
      unfinished.delete(resumed[1]);
      if (call && resumed[3] === '0') calls.push(call);
      continue;
    }
    const whole = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+0$/.exec(line);
    if (whole) calls.push({ name: whole[2], args: whole[3] });
  }
  return calls;
}

const syncedPath = (call: Call) => (/^(?:fsync|fdatasync)$/.test(call.name) ? /^\d+<(.*)>$/.exec(call.args)?.[1] : undefined);
function renamed(call: Call): { from: string; to: string } | undefined {
  if (!call.name.startsWith('rename')) return undefined;
  const quoted = [...call.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
  return quoted.length >= 2 ? { from: quoted[0], to: quoted[1] } : undefined;
}

describe.runIf(hasStrace)('durability of an import', () => {
  it.for(['keep', 'f32'])('syncs every file and folder before the model and its registry entry are published (dtype %s)', async (dtype) => {
    const source = path.join(dir, 'qwen-tiny');
    await writeRepoFiles(source, makeTinyModel({ family: 'qwen2', seed: 5 }));
    const models = path.join(dir, 'models');
    const log = path.join(dir, 'trace.log');
    const args = [BIN, 'import-model', source, '--yes', '--skip-validation', '--models-dir', models, '--name', 'tiny', ...(dtype === 'f32' ? ['--dtype', 'f32'] : [])];
    const run = spawnSync('strace', ['-f', '-qq', '-y', '-o', log, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', process.execPath, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(run.status, run.stderr).toBe(0);
    const calls = parseTrace(await fs.readFile(log, 'utf8'));

    const target = path.join(models, 'tiny');
    const publish = calls.findIndex((c) => renamed(c)?.to === target);
    expect(publish).toBeGreaterThan(0);
    const stagedOut = renamed(calls[publish])!.from;
    const syncedBefore = new Set(calls.slice(0, publish).map(syncedPath).filter((p): p is string => p !== undefined));

    const files = [];
    for (const rel of await listTree(target)) if ((await fs.stat(path.join(target, rel))).isFile()) files.push(rel);
    expect(files).toContain('model.safetensors');
    expect(files).toContain('onnx/model.onnx');
    // A file linked twice into the folder (the weights and their onnx/ link) is one inode, synced under one name.
    const syncedInodes = new Set<number>();
    for (const synced of syncedBefore) {
      const rel = path.relative(stagedOut, synced);
      if (rel.startsWith('..')) continue;
      const stat = await fs.stat(path.join(target, rel)).catch(() => undefined);
      if (stat?.isFile()) syncedInodes.add(stat.ino);
    }
    for (const rel of files) {
      if (rel === 'metadata.json') continue; // written last, through a synced temp file (checked below)
      expect(syncedInodes.has((await fs.stat(path.join(target, rel))).ino), `${rel} fsynced before publishing`).toBe(true);
    }
    expect(syncedBefore.has(stagedOut), 'the model folder itself').toBe(true);
    expect(syncedBefore.has(path.join(stagedOut, 'onnx')), 'its subfolders').toBe(true);
    const metadataRename = calls.findIndex((c) => renamed(c)?.to === path.join(stagedOut, 'metadata.json'));
    expect(metadataRename).toBeGreaterThan(0);
    expect(syncedPath(calls[metadataRename - 1]) ?? '', 'metadata.json synced under its temp name').toMatch(/\.metadata\.json\..*\.tmp$/);
    expect(calls.slice(metadataRename, publish).some((c) => syncedPath(c) === stagedOut), 'folder synced after metadata.json appeared').toBe(true);

    const registryRename = calls.findIndex((c, k) => k > publish && renamed(c)?.to === path.join(models, 'registry.json'));
    expect(registryRename).toBeGreaterThan(publish);
    expect(calls.slice(publish, registryRename).some((c) => syncedPath(c) === models), 'models folder synced between the two renames').toBe(true);
  });
});
