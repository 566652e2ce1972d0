/**
 * What fetch downloads: one target per distinct content (a hash listed twice is downloaded once and copied), its
 * destinations checked under rawDir before anything is written, and how a large target is cut into ranges.
 */
import { ModelImportError, safeJoin, type ImportPlan } from '../../../src/index.js';
import { resolveUrl, type RepoRef } from './hub-access.js';

export interface Target {
  /** Content hash, names the partial: sha256 (LFS) or git blob sha1. */
  key: string;
  size: number;
  sha256?: string;
  gitOid?: string;
  /** Plan paths with this content (usually one); the first is downloaded, the others copied. */
  paths: string[];
  dests: string[];
  url: string;
}

/** The plan's files as targets; refuses unsafe paths and inconsistent listings before anything is written. */
export function buildTargets(plan: ImportPlan, rawDir: string, ref: RepoRef, commit: string): Target[] {
  const byKey = new Map<string, Target>();
  for (const file of plan.files) {
    const dest = safeJoin(rawDir, file.path, `path of ${file.path}`);
    const key = file.sha256 ?? file.gitOid;
    if (!key || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(key)) {
      throw new ModelImportError('BAD_INPUT', `${file.path} has no usable hash in the plan, so it could not be verified.`, {
        hint: 'The hub listing lacked a sha256 or git oid for it; report it to the repository owner.',
      });
    }
    const known = byKey.get(key);
    if (known && known.size !== file.size) {
      throw new ModelImportError('BAD_INPUT', `The listing gives ${known.paths[0]} and ${file.path} the same hash but different sizes.`, {
        hint: 'The repository listing is inconsistent; nothing was downloaded. Report it to the repository owner.',
      });
    }
    if (known) {
      known.paths.push(file.path);
      known.dests.push(dest);
      continue;
    }
    byKey.set(key, {
      key,
      size: file.size,
      ...(file.sha256 ? { sha256: file.sha256 } : { gitOid: file.gitOid }),
      paths: [file.path],
      dests: [dest],
      url: resolveUrl(ref, commit, file.path),
    });
  }
  return [...byKey.values()];
}

