/**
 * Integrity, part 2: every safetensors file parses with the project's strict reader, a sharded index agrees with
 * the shard headers (every tensor in exactly one shard, total_size), and the weight files the graph reads from
 * (onnx/*.safetensors, hard-linked so nothing is copied) hold the same bytes as the root files.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  SAFETENSORS_INDEX_FILE,
  checkSafetensorsIndex,
  isModelImportError,
  readSafetensorsHeader,
  readSafetensorsIndex,
  safeJoin,
  shapeElementCount,
  type SafetensorsHeader,
  type ValidationReport,
  type ValidationSubject,
} from '../../../src/index.js';
import { formatBytes, formatCount } from './format.js';
import { VALIDATOR } from './name.js';

export interface WeightsSummary {
  /** Elements of every tensor in the root weight files (a tied head stored once counts once). */
  parameterCount: number;
  /** Bytes those tensors take in their stored dtypes. */
  storedBytes: number;
  /** A file did not parse or the index disagrees: the forward pass would read garbage, so it is not run. */
  unreadable: boolean;
  /** onnx/ weight files differ from the root files: reported, and the forward checks still run (they say by how much). */
  linksFailed: boolean;
}

export async function checkSafetensors(
  subject: ValidationSubject,
  report: ValidationReport,
  bad: ReadonlySet<string>,
): Promise<WeightsSummary> {
  const files = subject.expectedFiles.map((f) => f.path).filter((p) => p.endsWith('.safetensors') && !bad.has(p));
  const headers = new Map<string, SafetensorsHeader>();
  let failed = false;
  for (const file of files) {
    try {
      headers.set(file, await readSafetensorsHeader(safeJoin(subject.modelDir, file)));
    } catch (error) {
      if (!isModelImportError(error)) throw error;
      failed = true;
      report.fail(VALIDATOR, 'safetensors', `${file}: ${stripFileName(error.message, file)}`);
    }
  }

  const root = [...headers].filter(([file]) => !file.includes('/'));
  let parameterCount = 0;
  let storedBytes = 0;
  let tensors = 0;
  for (const [, header] of root) {
    for (const tensor of header.tensors) {
      parameterCount += shapeElementCount(tensor.shape) ?? 0;
      storedBytes += tensor.end - tensor.begin;
      tensors++;
    }
  }
  if (!failed && headers.size > 0) {
    report.pass(VALIDATOR, 'safetensors', `${root.length} file${root.length === 1 ? '' : 's'}, ${formatCount(tensors)} tensors, ${formatBytes(storedBytes)}`);
  }

  if (subject.expectedFiles.some((f) => f.path === SAFETENSORS_INDEX_FILE) && !bad.has(SAFETENSORS_INDEX_FILE)) {
    failed = (await checkIndex(subject, report, new Map(root))) || failed;
  }
  const linksFailed = await checkLinkedCopies(subject, report, bad);
  return { parameterCount, storedBytes, unreadable: failed, linksFailed };
}

/** Returns true when the index failed. */
async function checkIndex(subject: ValidationSubject, report: ValidationReport, shards: Map<string, SafetensorsHeader>): Promise<boolean> {
  const file = path.join(subject.modelDir, SAFETENSORS_INDEX_FILE);
  try {
    const index = await readSafetensorsIndex(file);
    const { warnings } = checkSafetensorsIndex(index, shards, file);
    for (const warning of warnings) report.warn(VALIDATOR, 'shard-index', warning);
    const shardCount = new Set(Object.values(index.weightMap)).size;
    if (warnings.length === 0) report.pass(VALIDATOR, 'shard-index', `${shardCount} shards, ${formatCount(Object.keys(index.weightMap).length)} tensors`);
    return false;
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    report.fail(VALIDATOR, 'shard-index', error.message);
    return true;
  }
}

/**
 * Weight files below the root (onnx/model.safetensors) must be the root file itself: the same inode (a hard
 * link, the normal case), or failing that a copy with the same size and sha256. Returns true on failure.
 */
async function checkLinkedCopies(subject: ValidationSubject, report: ValidationReport, bad: ReadonlySet<string>): Promise<boolean> {
  const byPath = new Map(subject.expectedFiles.map((f) => [f.path, f]));
  let links = 0;
  let copies = 0;
  let failed = false;
  for (const file of subject.expectedFiles) {
    if (!file.path.includes('/') || !file.path.endsWith('.safetensors') || bad.has(file.path)) continue;
    const rootName = path.posix.basename(file.path);
    const original = byPath.get(rootName);
    if (!original) {
      failed = true;
      report.fail(VALIDATOR, 'weight-links', `${file.path} has no counterpart ${rootName} in the model folder`);
      continue;
    }
    if (bad.has(rootName)) continue;
    const [a, b] = await Promise.all([stat(safeJoin(subject.modelDir, file.path)), stat(safeJoin(subject.modelDir, rootName))]);
    if (a.dev === b.dev && a.ino === b.ino) {
      links++;
    } else if (file.size === original.size && file.sha256 === original.sha256) {
      copies++;
    } else {
      failed = true;
      report.fail(VALIDATOR, 'weight-links', `${file.path} is not the same content as ${rootName} (${formatCount(file.size)} vs ${formatCount(original.size)} bytes, sha256 ${file.sha256.slice(0, 12)}… vs ${original.sha256.slice(0, 12)}…)`);
    }
  }
  if (!failed && links + copies > 0) {
    const parts = [links > 0 ? `${links} hard link${links === 1 ? '' : 's'}` : '', copies > 0 ? `${copies} identical cop${copies === 1 ? 'y' : 'ies'}` : ''];
    report.pass(VALIDATOR, 'weight-links', parts.filter(Boolean).join(', '));
  }
  return failed;
}

/** The reader's messages start with the file's base name; the finding names the relative path instead. */
function stripFileName(message: string, file: string): string {
  const prefix = `${path.posix.basename(file)}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
