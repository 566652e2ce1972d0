import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncTree } from './sync-tree.js';

// Whether the data really reaches the disk is proven under strace by test/cli/durability.test.ts; here: the walk.
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sync-tree-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

describe('syncTree', () => {
  it('syncs every regular file and every folder, nested ones included', async () => {
    await fs.mkdir(path.join(dir, 'onnx', 'deeper'), { recursive: true });
    for (const rel of ['a.json', 'b.bin', 'onnx/model.onnx', 'onnx/deeper/x']) await fs.writeFile(path.join(dir, rel), rel);
    await fs.link(path.join(dir, 'b.bin'), path.join(dir, 'onnx', 'b-link.bin'));
    await fs.symlink('a.json', path.join(dir, 'link-to-a')); // not followed, not counted
    // b.bin and its hard link are one file: synced once.
    expect(await syncTree(dir)).toEqual({ files: 4, folders: 3 });
  });

  it('handles an empty folder', async () => {
    expect(await syncTree(dir)).toEqual({ files: 0, folders: 1 });
  });

  it('stops when aborted', async () => {
    await fs.writeFile(path.join(dir, 'a'), 'a');
    const controller = new AbortController();
    controller.abort();
    await expect(syncTree(dir, controller.signal)).rejects.toThrow(/abort/i);
  });

  it('fails on a folder that does not exist', async () => {
    await expect(syncTree(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
