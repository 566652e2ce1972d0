import { link, mkdtemp, mkdir, open, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationReport } from '../../../src/index.js';
import { makeSubject } from '../test-support/subject.js';
import { checkFiles } from './check-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vf-files-'));
  await writeFile(path.join(dir, 'config.json'), '{"model_type":"qwen2"}');
  await mkdir(path.join(dir, 'onnx'));
  await writeFile(path.join(dir, 'onnx', 'weights.bin'), new Uint8Array(4096).map((_, i) => i * 7));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function flipByte(file: string, at: number): Promise<void> {
  const handle = await open(file, 'r+');
  const byte = new Uint8Array(1);
  await handle.read(byte, 0, 1, at);
  byte[0] ^= 0x01;
  await handle.write(byte, 0, 1, at);
  await handle.close();
}

describe('checkFiles', () => {
  it('passes an intact folder in verify mode', async () => {
    const report = new ValidationReport();
    const outcome = await checkFiles(await makeSubject(dir, { mode: 'verify' }), report);
    expect(report.failures).toEqual([]);
    expect(outcome.bad.size).toBe(0);
    expect(report.findings.map((f) => [f.check, f.status])).toEqual([
      ['files', 'pass'],
      ['sha256', 'pass'],
    ]);
    expect(report.findings[0].figure).toBe('2 files, 4.12 KB');
  });

  it('counts a hard-linked file once in the size, and reads it once', async () => {
    await link(path.join(dir, 'onnx', 'weights.bin'), path.join(dir, 'weights.bin'));
    const report = new ValidationReport();
    await checkFiles(await makeSubject(dir, { mode: 'verify' }), report);
    expect(report.failures).toEqual([]);
    expect(report.findings[0].figure).toBe('3 files, 4.12 KB');
    expect(report.findings[1].figure).toMatch(/^3 files re-hashed \(2 read: hard links once\) in /);
  });

  it('finds a single flipped bit in verify mode, and only there', async () => {
    const subject = await makeSubject(dir, { mode: 'verify' });
    await flipByte(path.join(dir, 'onnx', 'weights.bin'), 2048);
    const report = new ValidationReport();
    const outcome = await checkFiles(subject, report);
    expect(outcome.bad).toEqual(new Set(['onnx/weights.bin']));
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0].check).toBe('sha256');
    expect(report.failures[0].message).toMatch(/^onnx\/weights\.bin content changed: sha256 [0-9a-f]{12}… ≠ recorded [0-9a-f]{12}…$/);

    const importReport = new ValidationReport();
    await checkFiles({ ...subject, mode: 'import' }, importReport);
    expect(importReport.failures).toEqual([]);
  });

  it('fails a truncated file with the missing byte count', async () => {
    const subject = await makeSubject(dir);
    await truncate(path.join(dir, 'onnx', 'weights.bin'), 4000);
    const report = new ValidationReport();
    await checkFiles(subject, report);
    expect(report.failures.map((f) => f.message)).toEqual([
      'onnx/weights.bin is 4,000 bytes, expected 4,096 (truncated by 96 bytes)',
    ]);
    expect(report.failures[0]).toMatchObject({ check: 'files', expected: 4096, actual: 4000 });
  });

  it('fails a missing file and does not try to hash it', async () => {
    const subject = await makeSubject(dir, { mode: 'verify' });
    await unlink(path.join(dir, 'config.json'));
    const report = new ValidationReport();
    await checkFiles(subject, report);
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([['files', 'config.json is missing']]);
    expect(report.findings.find((f) => f.check === 'sha256')?.status).toBe('pass');
  });

  it('refuses an expected path that escapes the model folder', async () => {
    const subject = await makeSubject(dir);
    subject.expectedFiles.push({ path: '../outside', size: 1, sha256: '0'.repeat(64) });
    const report = new ValidationReport();
    await checkFiles(subject, report);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0].message).toContain('"../outside"');
  });
});
