import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reporter, convertFloatBytes } from '../../../../src/index.js';
import { tempDir } from '../../../../test/support/temp.js';
import { readAllTensors, writeTiny } from '../../../arch-qwen/test/harness.js';
import { rewriteWeights } from './rewrite-weights.js';
import { openCheckpoint } from './source-checkpoint.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-rewrite-'));
});
afterEach(async () => cleanup());

describe('rewriteWeights', () => {
  // Tiny chunks: every tensor streams in many chunks through the reused read buffers and the read-ahead.
  it.for([48, 1000])('bf16 -> f32 in %i-byte chunks: every byte, the hash of each file and the progress', async (chunkBytes) => {
    const raw = await writeTiny(path.join(root, 'raw'), { seed: 3 });
    const outDir = path.join(root, `out-${chunkBytes}`);
    await mkdir(outDir);
    const checkpoint = await openCheckpoint(raw);
    const reporter = new Reporter();
    let advanced = 0;
    reporter.subscribe((e) => {
      if (e.type === 'task-end') advanced = e.done;
    });
    const task = reporter.task('convert weights', 0, 'convert');
    let result;
    try {
      result = await rewriteWeights(checkpoint.tensors, { outDir, dtype: 'F32', chunkBytes, maxShardSize: 150_000, task });
      task.end('done');
    } finally {
      await checkpoint.close();
    }
    expect(result.shards.length).toBeGreaterThan(1);
    const original = await readAllTensors(raw, ['model.safetensors']);
    const widened = await readAllTensors(outDir, result.files.filter((f) => f.endsWith('.safetensors')));
    expect([...widened.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, t] of original) expect(widened.get(name)!.bytes).toEqual(convertFloatBytes(t.bytes, 'BF16', 'F32'));
    for (const [file, sha256] of Object.entries(result.fileHashes)) {
      expect(sha256).toBe(createHash('sha256').update(await readFile(path.join(outDir, file))).digest('hex'));
    }
    expect(advanced).toBe([...original.values()].reduce((n, t) => n + t.bytes.length * 2, 0));
  });
});
