/**
 * Which specs are ours, and the hub's rules for repo ids, checked before any request is sent.
 */
import { stat } from 'node:fs/promises';
import { ModelImportError } from '../../../src/index.js';

const MAX_PART = 96;
const PART_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * Local paths belong to other sources: anything starting like a path, a Windows drive, or an existing folder.
 * Everything else is a repo id (valid or not: a bad id deserves our error, not "no source").
 */
export async function isLocalSpec(spec: string): Promise<boolean> {
  if (/^[.\/~\\]/.test(spec) || /^[A-Za-z]:[\\/]/.test(spec) || spec.startsWith('file:')) return true;
  try {
    return (await stat(spec)).isDirectory();
  } catch {
    return false;
  }
}

function partProblem(part: string, what: string): string | undefined {
  if (part.length === 0) return `the ${what} is empty`;
  if (part.length > MAX_PART) return `the ${what} is longer than ${MAX_PART} characters`;
  if (!PART_CHARS.test(part)) return `the ${what} may only contain letters, digits, '.', '_' and '-'`;
  if (part.includes('--') || part.includes('..')) return `the ${what} contains '--' or '..'`;
  if (/^[.-]|[.-]$/.test(part)) return `the ${what} starts or ends with '.' or '-'`;
  return undefined;
}

/** Returns the repo id unchanged, or throws INVALID_REPO_ID saying which rule it breaks. */
export function validateRepoId(spec: string): string {
  const parts = spec.split('/');
  let problem: string | undefined;
  if (parts.length > 2) problem = "it has more than one '/'";
  else if (parts.length === 2) problem = partProblem(parts[0], 'organisation') ?? partProblem(parts[1], 'name');
  else problem = partProblem(parts[0], 'name');
  if (problem) {
    throw new ModelImportError('INVALID_REPO_ID', `${JSON.stringify(spec)} is not a valid Hugging Face repo id: ${problem}.`, {
      hint: 'Use the form org/name, e.g. Qwen/Qwen2.5-0.5B. To import a local folder, start its path with ./ or /.',
      details: { spec },
    });
  }
  return spec;
}
