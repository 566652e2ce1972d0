/**
 * What "clean" means for the reliability suites, as lists of problems (empty = clean) rather than assertions, so a
 * suite can run every case, print its totals, and then fail with all the problems at once.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CliResult } from '../support/cli.js';
import type { RepoFiles } from '../fake-hub/index.js';

/** README "Exit codes", minus 0 and 1 (1 is documented as "a bug in model-import", so never a clean failure). */
export const CLEAN_FAILURE_CODES: ReadonlySet<number> = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 130, 143]);

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The last `error:` line of stderr, for reports. */
export function errorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  // The error line, or the neutral line before the hint (Ctrl-C, cancel), or the last line.
  const hintAt = lines.findLastIndex((l) => l.startsWith('hint: '));
  return lines.filter((l) => l.startsWith('error: ')).at(-1) ?? (hintAt > 0 ? lines[hintAt - 1] : undefined) ?? lines.at(-1) ?? '';
}

const NEUTRAL_EXIT_CODES = new Set([6, 10, 130, 143]);

/** A failed run that ends with exactly one `error: ...` line and one `hint: ...` line, a documented code, no stack. */
export function cleanFailureProblems(result: CliResult, allowedCodes: ReadonlySet<number> = CLEAN_FAILURE_CODES): string[] {
  const problems: string[] = [];
  if (result.code === null) problems.push(`ended by signal ${result.signal}`);
  else if (!allowedCodes.has(result.code)) problems.push(`exit code ${result.code} (expected one of ${[...allowedCodes].join(', ')})`);
  // Ctrl-C, SIGTERM, a cancel or a declined license are said as a plain line (no "error:"), then the hint.
  const neutral = result.code !== null && NEUTRAL_EXIT_CODES.has(result.code);
  const ending = neutral ? /(^|\n)[^\n]+\nhint: [^\n]+\n$/ : /(^|\n)error: [^\n]+\nhint: [^\n]+\n$/;
  if (!ending.test(result.stderr)) problems.push(`stderr does not end with "${neutral ? '' : 'error: '}...\\nhint: ...": ${JSON.stringify(result.stderr.slice(-300))}`);
  const errors = result.stderr.match(/^error: /gm)?.length ?? 0;
  if (errors !== (neutral ? 0 : 1)) problems.push(`${errors} "error:" lines`);
  if (/^\s+at \S/m.test(result.stderr)) problems.push('stack trace on stderr');
  if (/\bundefined\b|\[object Object\]/.test(errorLine(result.stderr))) problems.push(`error line shows a programming value: ${errorLine(result.stderr)}`);
  return problems;
}

export async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export type RegistryRead = { ok: true; models: Record<string, unknown> | undefined } | { ok: false; problem: string };

/** The registry's models (undefined when there is no registry.json), or why it is not a valid registry. */
export async function readRegistry(modelsDir: string): Promise<RegistryRead> {
  let text: string;
  try {
    text = await fs.readFile(path.join(modelsDir, 'registry.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, models: undefined };
    return { ok: false, problem: `registry.json unreadable: ${(error as Error).message}` };
  }
  try {
    const data = JSON.parse(text) as { models?: unknown };
    if (typeof data !== 'object' || data === null || typeof data.models !== 'object' || data.models === null || Array.isArray(data.models)) {
      return { ok: false, problem: 'registry.json has no "models" object' };
    }
    return { ok: true, models: data.models as Record<string, unknown> };
  } catch (error) {
    return { ok: false, problem: `registry.json is not valid JSON: ${(error as Error).message}` };
  }
}

export interface FolderExpectations {
  /** Names that must be neither registered nor present as a folder. */
  absent?: string[];
  /** After a process that ended on its own: .staging must be empty and no temp or lock file may be left. */
  settled?: boolean;
}

/**
 * The models folder holds only registry.json, registered model folders (each with metadata.json), .staging and
 * .blobs (the shared blob store and its partials); every registry entry has its folder; the registry is valid JSON.
 */
export async function modelsFolderProblems(modelsDir: string, expect: FolderExpectations = {}): Promise<string[]> {
  const problems: string[] = [];
  if (!(await exists(modelsDir))) return problems;
  const registry = await readRegistry(modelsDir);
  if (!registry.ok) return [registry.problem];
  const registered = registry.models ?? {};
  for (const entry of await fs.readdir(modelsDir, { withFileTypes: true })) {
    const name = entry.name;
    if (name === 'registry.json' || name === '.blobs') continue;
    if (name === '.staging') {
      const left = await fs.readdir(path.join(modelsDir, name));
      if (expect.settled && left.length > 0) problems.push(`.staging not empty: ${left.join(', ')}`);
      continue;
    }
    if (name.startsWith('.') || name.endsWith('.lock')) {
      if (expect.settled) problems.push(`left behind in the models folder: ${name}`);
      continue;
    }
    if (!entry.isDirectory()) {
      problems.push(`unexpected file in the models folder: ${name}`);
      continue;
    }
    if (!(name in registered)) problems.push(`model folder ${name} has no registry entry (a half model?)`);
    else if (!(await exists(path.join(modelsDir, name, 'metadata.json')))) problems.push(`model folder ${name} has no metadata.json`);
  }
  for (const name of Object.keys(registered)) {
    if (!(await exists(path.join(modelsDir, name)))) problems.push(`registry entry ${name} has no folder`);
  }
  for (const name of expect.absent ?? []) {
    if (name in registered) problems.push(`${name} is registered`);
    if (await exists(path.join(modelsDir, name))) problems.push(`folder ${name} exists`);
  }
  return problems;
}

/** Every weight file the hub served (*.safetensors) is in the model folder with the same bytes. */
export async function weightProblems(modelDir: string, served: RepoFiles): Promise<string[]> {
  const problems: string[] = [];
  const weights = Object.keys(served).filter((p) => p.endsWith('.safetensors'));
  if (weights.length === 0) problems.push('the served repo has no .safetensors file to compare');
  for (const file of weights) {
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(path.join(modelDir, file));
    } catch {
      problems.push(`${file} missing from ${modelDir}`);
      continue;
    }
    if (bytes.byteLength !== served[file].byteLength || sha256(bytes) !== sha256(served[file])) {
      problems.push(`${file} differs from the served bytes (${bytes.byteLength} vs ${served[file].byteLength} bytes)`);
    }
  }
  return problems;
}

/** Sum of the served weight bytes, as the hub counts them (weightBytesServed). */
export function weightBytes(files: RepoFiles): number {
  return Object.entries(files)
    .filter(([p]) => /\.(safetensors|bin)$/.test(p))
    .reduce((n, [, b]) => n + b.byteLength, 0);
}
