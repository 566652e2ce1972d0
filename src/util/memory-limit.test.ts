import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMemoryBudget, memoryLimit } from './memory-limit.js';

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

/** A filesystem root with the given files (the layout the kernel exposes under / and /sys/fs/cgroup). */
async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cgroup-'));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

const GB = 1e9;

describe('memoryLimit', () => {
  it('cgroup v2: the smallest memory.max of the cgroup and its ancestors; "max" is none', async () => {
    const root = await fakeRoot({
      'proc/self/cgroup': '0::/user.slice/job\n',
      'sys/fs/cgroup/user.slice/job/memory.max': 'max\n',
      'sys/fs/cgroup/user.slice/memory.max': `${1 * GB}\n`,
    });
    expect(memoryLimit({ root, totalMemory: 24 * GB })).toEqual({ bytes: 1 * GB, source: 'cgroup v2 memory.max' });
    expect(defaultMemoryBudget({ root, totalMemory: 24 * GB }).bytes).toBe(0.5 * GB);
  });

  it('cgroup v2 inside a container: the namespaced mount root', async () => {
    const root = await fakeRoot({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': `${2 * GB}` });
    expect(memoryLimit({ root, totalMemory: 24 * GB }).bytes).toBe(2 * GB);
  });

  it('cgroup v1: memory.limit_in_bytes; 2^63 - page is none', async () => {
    const root = await fakeRoot({
      'proc/self/cgroup': '5:devices:/\n4:memory:/process_api/abc\n0::/\n',
      'sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/process_api/memory.limit_in_bytes': `${3 * GB}\n`,
    });
    expect(memoryLimit({ root, totalMemory: 24 * GB })).toEqual({ bytes: 3 * GB, source: 'cgroup v1 memory.limit_in_bytes' });
  });

  it('no cgroup limit, or one above the host RAM: the host RAM', async () => {
    const root = await fakeRoot({ 'proc/self/cgroup': '0::/a\n', 'sys/fs/cgroup/a/memory.max': `${64 * GB}` });
    expect(memoryLimit({ root, totalMemory: 24 * GB })).toEqual({ bytes: 24 * GB, source: 'host RAM' });
    const none = await fakeRoot({});
    expect(memoryLimit({ root: none, totalMemory: 8 * GB })).toEqual({ bytes: 8 * GB, source: 'host RAM' });
  });
});
