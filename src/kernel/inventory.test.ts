import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { inventoryFolder } from './inventory.js';
import { tempDir } from '../../test/support/temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

it('reuses a writer-given hash for the file and for its hard links (no second read), hashes the rest, counts links once', async () => {
  await fs.mkdir(path.join(dir, 'a-onnx'));
  await fs.writeFile(path.join(dir, 'model.safetensors'), 'weights');
  await fs.link(path.join(dir, 'model.safetensors'), path.join(dir, 'a-onnx', 'model.safetensors'));
  await fs.writeFile(path.join(dir, 'config.json'), '{}');
  // A hash the writer "computed": not the real one, so a re-read would show.
  const claimed = 'f'.repeat(64);
  const inventory = await inventoryFolder(dir, new Map(), undefined, { 'model.safetensors': claimed });
  expect(inventory.files).toEqual([
    { path: 'config.json', size: 2, sha256: '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' },
    { path: 'model.safetensors', size: 7, sha256: claimed },
    { path: 'a-onnx/model.safetensors', size: 7, sha256: claimed },
  ]);
  expect(inventory.bytesOnDisk).toBe(9);
});
