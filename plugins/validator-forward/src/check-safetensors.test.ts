import { copyFile, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationReport } from '../../../src/index.js';
import { makeSubject } from '../test-support/subject.js';
import { makeTinyModelDir } from '../test-support/tiny-model.js';
import { checkSafetensors } from './check-safetensors.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tiny(shards = 1) {
  const { dir } = await makeTinyModelDir({ shards });
  dirs.push(dir);
  return dir;
}

async function run(dir: string) {
  const report = new ValidationReport();
  const summary = await checkSafetensors(await makeSubject(dir), report, new Set());
  return { report, summary, table: report.findings.map((f) => [f.check, f.status, f.figure ?? f.message]) };
}

describe('checkSafetensors', () => {
  it('passes a sharded folder whose graph links the shards, and counts the parameters', async () => {
    const dir = await tiny(3);
    const { table, summary } = await run(dir);
    expect(table).toEqual([
      ['safetensors', 'pass', expect.stringMatching(/^3 files, \d+ tensors, [\d.]+ KB$/)],
      ['shard-index', 'pass', expect.stringMatching(/^3 shards, \d+ tensors$/)],
      ['weight-links', 'pass', '3 hard links'],
    ]);
    // tiny qwen2 (TINY_SIZES), tied: embed 320x64, per layer 2 norms + q,k,v (+bias) + o + 3 MLP, final norm
    const H = 64, I = 128, D = 16, nH = 4, nKV = 2;
    const perLayer = 2 * H + (nH * D * H + nH * D) + 2 * (nKV * D * H + nKV * D) + H * nH * D + 3 * H * I;
    expect(summary).toMatchObject({ parameterCount: 320 * H + 2 * perLayer + H, unreadable: false, linksFailed: false });
  });

  it('fails an index that puts a tensor in the wrong shard, naming the tensor', async () => {
    const dir = await tiny(2);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexFile, 'utf8'));
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    index.weight_map['model.norm.weight'] = shards.find((s) => s !== index.weight_map['model.norm.weight']);
    await writeFile(indexFile, JSON.stringify(index));
    const { report, summary } = await run(dir);
    expect(summary.unreadable).toBe(true);
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([
      ['shard-index', expect.stringMatching(/tensor "model\.norm\.weight" is in model-0000\d-of-00002\.safetensors but the weight_map says model-0000\d-of-00002\.safetensors/)],
    ]);
  });

  it('warns when total_size disagrees with the shards', async () => {
    const dir = await tiny(2);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexFile, 'utf8'));
    index.metadata.total_size += 2;
    await writeFile(indexFile, JSON.stringify(index));
    const { report } = await run(dir);
    expect(report.failures).toEqual([]);
    expect(report.findings.find((f) => f.check === 'shard-index')).toMatchObject({ status: 'warn', message: expect.stringContaining('total_size') });
  });

  it('fails a file whose header no longer parses strictly', async () => {
    const dir = await tiny();
    const handle = await open(path.join(dir, 'model.safetensors'), 'r+');
    await handle.write(new TextEncoder().encode('['), 0, 1, 8); // header JSON now starts with '['
    await handle.close();
    const { report } = await run(dir);
    // the graph's hard link shares the inode, so both names fail
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([
      ['safetensors', expect.stringMatching(/^model\.safetensors: header is not valid JSON/)],
      ['safetensors', expect.stringMatching(/^onnx\/model\.safetensors: header is not valid JSON/)],
    ]);
  });

  it('accepts an identical copy in onnx/ and fails one with other content', async () => {
    const dir = await tiny();
    const linked = path.join(dir, 'onnx', 'model.safetensors');
    await unlink(linked);
    await copyFile(path.join(dir, 'model.safetensors'), linked);
    expect((await run(dir)).table.at(-1)).toEqual(['weight-links', 'pass', '1 identical copy']);

    const bytes = await readFile(linked);
    bytes[bytes.length - 1] ^= 0x40;
    await writeFile(linked, bytes);
    const { report, summary } = await run(dir);
    expect(summary).toMatchObject({ unreadable: false, linksFailed: true });
    expect(report.failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/^onnx\/model\.safetensors is not the same content as model\.safetensors \(\d[\d,]* vs \d[\d,]* bytes, sha256 [0-9a-f]{12}… vs [0-9a-f]{12}…\)$/),
    ]);
  });
});
