/**
 * The path policy, in one place: every path model-import writes, deletes or renames is resolved under the models
 * folder, and no component between the models folder and the target may be a symbolic link (checked with lstat,
 * one component at a time). Local state is not trusted: a registry entry's `path`, a planted link in .staging or
 * .partial, a models folder that is a file — each ends in a typed error before anything is touched.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError, fileSystemError } from '../kernel/errors.js';
import { checkRelativePath } from './safe-path.js';

/** open() flags that never follow a link at the last component (the components before it are lstat-checked). */
export const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

function unsafeState(message: string, cause?: unknown): ModelImportError {
  return new ModelImportError('UNSAFE_LOCAL_STATE', message, {
    hint: 'Something other than model-import put this there; move it aside (nothing of yours was touched), then run the command again.',
    cause,
  });
}

/**
 * Throws unless `target` is `root` or lies under it, with no symbolic link at `root` or on the way down. Missing
 * components are fine (they will be created by us). Returns the resolved target.
 */
export async function assertInside(root: string, target: string): Promise<string> {
  const base = path.resolve(root);
  const full = path.resolve(target);
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new ModelImportError('UNSAFE_PATH', `Refused ${full}: it is outside the models folder ${base}.`, {
      hint: 'model-import only writes, renames and deletes inside its models folder.',
    });
  }
  const parts = full === base ? [] : full.slice(base.length + 1).split(path.sep);
  let current = base;
  for (let i = -1; i < parts.length; i++) {
    if (i >= 0) current = path.join(current, parts[i]);
    let stat;
    try {
      stat = await fs.lstat(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return full;
      if (code === 'ENOTDIR') throw unsafeState(`${path.dirname(current)} is a file where model-import needs a folder.`, error);
      throw fileSystemError(error, 'check');
    }
    if (stat.isSymbolicLink()) throw unsafeState(`${current} is a symbolic link; model-import does not follow links inside its models folder.`);
    if (i < parts.length - 1 && !stat.isDirectory()) throw unsafeState(`${current} is a file where model-import needs a folder.`);
  }
  return full;
}

/**
 * The folder a registry entry names: its `path` is local state like any other, so it must be one safe relative
 * segment list under the models folder (never "..", absolute, or through a link).
 */
export async function entryFolder(modelsDir: string, entry: { path?: unknown }, key: string): Promise<string> {
  const relative = entry.path ?? key;
  if (typeof relative !== 'string') {
    throw new ModelImportError('REGISTRY_CORRUPT', `The registry entry "${key}" has a path that is not a string.`, {
      hint: 'Restore registry.json from a backup, or fix that entry by hand.',
    });
  }
  let clean: string;
  try {
    clean = checkRelativePath(relative, `registry path of "${key}"`);
  } catch (error) {
    throw new ModelImportError('UNSAFE_PATH', `${(error as Error).message.replace(/\.$/, '')}; nothing was touched.`, {
      hint: 'The registry entry points outside the models folder; fix or remove that entry in registry.json by hand.',
      cause: error,
    });
  }
  return assertInside(modelsDir, path.join(modelsDir, ...clean.split('/')));
}

/** Makes `dir` (under root) a real folder, refusing links and files in the way. */
export async function ensureFolderInside(root: string, dir: string): Promise<void> {
  await ensureModelsFolder(root);
  await assertInside(root, dir);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw unsafeState(`${dir} is in the way: model-import needs a folder there.`, error);
    throw fileSystemError(error, 'create');
  }
  // Re-check after creating: a link planted between the check and mkdir is caught here.
  await assertInside(root, dir);
}

/** The models folder itself must be a folder (or absent, then created); a file or a dangling link is refused. */
export async function ensureModelsFolder(root: string): Promise<void> {
  const stat = await fs.lstat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    if (error.code === 'ENOTDIR') throw unsafeState(`The models folder ${root} is below a file.`, error);
    throw fileSystemError(error, 'check');
  });
  if (!stat) {
    await fs.mkdir(root, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTDIR') throw unsafeState(`The models folder ${root} cannot be created: something is in the way.`, error);
      throw fileSystemError(error, 'create');
    });
    return;
  }
  if (stat.isDirectory()) return;
  if (stat.isSymbolicLink()) {
    // A models folder that is itself a link is the user's choice (e.g. onto a larger disk); a dangling one is not.
    const target = await fs.stat(root).catch(() => undefined);
    if (target?.isDirectory()) return;
    throw unsafeState(`The models folder ${root} is a link to nothing usable.`);
  }
  throw unsafeState(`The models folder ${root} is a file, not a folder.`);
}

/** Removes a folder tree of ours under root: refused if it (or a folder above it) is a link. */
export async function removeInside(root: string, target: string): Promise<void> {
  await assertInside(root, target);
  await fs.rm(target, { recursive: true, force: true }).catch((error: unknown) => {
    throw fileSystemError(error, 'remove');
  });
}
