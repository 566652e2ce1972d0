/**
 * Integrity, part 1: every file the kernel inventoried is there with its size, and in `verify` mode its bytes
 * still hash to the recorded sha256 (a single flipped byte changes the hash). Import mode skips the re-hash: the
 * kernel hashed the folder moments ago, and hashing a 140 GB model twice would double the stage's time.
 */
import { stat } from 'node:fs/promises';
import { safeJoin, sha256File, type ValidationReport, type ValidationSubject } from '../../../src/index.js';
import { formatBytes, formatCount } from './format.js';
import { VALIDATOR } from './name.js';

export interface FileCheckOutcome {
  /** Paths (relative, posix) that failed a check; later checks skip them rather than repeat the failure. */
  bad: Set<string>;
  /** Bytes on disk of the expected files, hard links (onnx/ -> root weights) counted once. */
  totalBytes: number;
}

export async function checkFiles(
  subject: ValidationSubject,
  report: ValidationReport,
  signal?: AbortSignal,
): Promise<FileCheckOutcome> {
  const bad = new Set<string>();
  const inodes = new Map<string, string>(); // path -> dev:ino, so hard links (onnx/ -> root) are hashed once
  let totalBytes = 0;
  const failFile = (file: string, message: string, extra: Record<string, unknown> = {}) => {
    bad.add(file);
    report.fail(VALIDATOR, 'files', message, extra);
  };

  const counted = new Set<string>();
  for (const expected of subject.expectedFiles) {
    let full: string;
    try {
      full = safeJoin(subject.modelDir, expected.path, 'expected file');
    } catch (error) {
      failFile(expected.path, (error as Error).message);
      continue;
    }
    const info = await stat(full).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error) {
      failFile(expected.path, info.code === 'ENOENT' ? `${expected.path} is missing` : `${expected.path} cannot be read (${info.code})`);
      continue;
    }
    if (!info.isFile()) {
      failFile(expected.path, `${expected.path} is not a regular file`);
      continue;
    }
    const inode = `${info.dev}:${info.ino}`;
    inodes.set(expected.path, inode);
    if (!counted.has(inode)) totalBytes += expected.size;
    counted.add(inode);
    if (info.size !== expected.size) {
      const how = info.size < expected.size ? `truncated by ${formatCount(expected.size - info.size)} bytes` : `${formatCount(info.size - expected.size)} bytes too long`;
      failFile(expected.path, `${expected.path} is ${formatCount(info.size)} bytes, expected ${formatCount(expected.size)} (${how})`, {
        expected: expected.size,
        actual: info.size,
      });
    }
  }
  const count = subject.expectedFiles.length;
  if (bad.size === 0) report.pass(VALIDATOR, 'files', `${count} files, ${formatBytes(totalBytes)}`);

  if (subject.mode !== 'verify') return { bad, totalBytes };

  const started = performance.now();
  let hashed = 0;
  let hashFailures = 0;
  const hashes = new Map<string, string>();
  for (const expected of subject.expectedFiles) {
    if (bad.has(expected.path)) continue; // a missing or truncated file has already failed
    const inode = inodes.get(expected.path)!;
    let actual = hashes.get(inode);
    if (actual === undefined) {
      actual = await sha256File(safeJoin(subject.modelDir, expected.path), signal);
      hashes.set(inode, actual);
    }
    hashed++;
    if (actual !== expected.sha256) {
      hashFailures++;
      bad.add(expected.path);
      report.fail(VALIDATOR, 'sha256', `${expected.path} content changed: sha256 ${actual.slice(0, 12)}… ≠ recorded ${expected.sha256.slice(0, 12)}…`, {
        expected: expected.sha256,
        actual,
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (hashed === 0) report.skip(VALIDATOR, 'sha256', 'no intact file left to re-hash');
  else if (hashFailures === 0) {
    const distinct = hashes.size < hashed ? ` (${hashes.size} read: hard links once)` : '';
    report.pass(VALIDATOR, 'sha256', `${hashed} files re-hashed${distinct} in ${seconds.toFixed(1)} s`);
  }
  return { bad, totalBytes };
}
