/**
 * Paths that come from outside (hub listings, index files, archives) are relative posix paths that must stay
 * inside the folder they are written to. Anything else is hostile input and is refused before any write.
 */
import path from 'node:path';
import { ModelImportError } from '../kernel/errors.js';

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Returns the normalised relative path, or throws UNSAFE_PATH naming the offending entry. */
export function checkRelativePath(relative: string, what = 'file path'): string {
  const bad = (why: string): never => {
    throw new ModelImportError('UNSAFE_PATH', `Refused ${what} ${JSON.stringify(relative)}: ${why}.`, {
      hint: 'The source lists a path that would escape the model folder; nothing was written. Report it to the repository owner.',
    });
  };
  if (typeof relative !== 'string' || relative.length === 0) bad('empty');
  if (relative.includes('\0')) bad('contains a NUL byte');
  if (relative.includes('\\')) bad('contains a backslash');
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) bad('absolute path');
  const parts = relative.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') bad('contains an empty, "." or ".." segment');
    if (WINDOWS_RESERVED.test(part)) bad('contains a name reserved on Windows');
  }
  return parts.join('/');
}

/** Joins a checked relative path under root and double-checks the result stays inside root. */
export function safeJoin(root: string, relative: string, what?: string): string {
  const clean = checkRelativePath(relative, what);
  const full = path.resolve(root, ...clean.split('/'));
  const rootResolved = path.resolve(root);
  if (full !== rootResolved && !full.startsWith(rootResolved + path.sep)) {
    throw new ModelImportError('UNSAFE_PATH', `Refused ${what ?? 'file path'} ${JSON.stringify(relative)}: escapes the target folder.`);
  }
  return full;
}
