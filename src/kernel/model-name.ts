/**
 * Model names are folder names, so they must be safe on Linux, macOS and Windows alike.
 *
 * The rule (documented in the README):
 * - 1 to 64 characters from [A-Za-z0-9._-], starting with a letter or a digit, not ending with "." or "-";
 * - no ".." anywhere; no name reserved on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without extension);
 * - names are compared case-insensitively (macOS and Windows folders are), so "Qwen" and "qwen" are duplicates.
 * A generated name is the repo's name part (after the "/"), lowercased, with every other character replaced by
 * "-", runs of "-" collapsed, and trimmed to 64 characters: "Qwen/Qwen2.5-0.5B" -> "qwen2.5-0.5b".
 */
import { ModelImportError } from './errors.js';

const MAX_LENGTH = 64;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
const ALLOWED = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Returns why the name is not acceptable, or undefined when it is. */
export function modelNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_LENGTH) return `it is ${name.length} characters long (at most ${MAX_LENGTH})`;
  if (name.includes('/') || name.includes('\\')) return 'it contains a path separator';
  if (name.includes('..')) return 'it contains ".."';
  if (!ALLOWED.test(name)) return 'it must start with a letter or digit and use only letters, digits, ".", "_" and "-"';
  if (/[.-]$/.test(name)) return 'it ends with "." or "-"';
  if (WINDOWS_RESERVED.test(name)) return 'it is a name reserved on Windows';
  return undefined;
}

export function assertModelName(name: string): string {
  const problem = modelNameProblem(name);
  if (problem) {
    throw new ModelImportError('INVALID_NAME', `Invalid model name ${JSON.stringify(name)}: ${problem}.`, {
      hint: 'Use 1-64 letters, digits, ".", "_" or "-", e.g. --name my-qwen-base.',
    });
  }
  return name;
}

/** Derives a registry name from a model id by the rule above. */
export function deriveModelName(modelId: string): string {
  const last = modelId.split(/[\\/]/).filter(Boolean).pop() ?? '';
  let name = last
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, MAX_LENGTH)
    .replace(/[._-]+$/, '');
  if (name.length === 0) name = 'model';
  if (WINDOWS_RESERVED.test(name)) name = `${name.replace(/\./g, '-')}-model`;
  return name;
}

/** "name", "name-2", "name-3", ...: the first that is not taken (case-insensitively). */
export function nextFreeName(base: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((n) => n.toLowerCase()));
  if (!used.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, MAX_LENGTH - suffix.length).replace(/[.-]+$/, '')}${suffix}`;
    if (!used.has(candidate.toLowerCase())) return candidate;
  }
}

export function findName(name: string, taken: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  for (const existing of taken) if (existing.toLowerCase() === lower) return existing;
  return undefined;
}
