/**
 * The models folder must be creatable and writable, and that is checked before anything else (the hub, the
 * license question): finding out after the user accepted a license and waited for a download, as an
 * "Unexpected error: EACCES", is the worst time. A probe file is written and removed: permission bits alone do
 * not tell (root, read-only mounts, ACLs).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError } from '../kernel/errors.js';

export async function checkModelsDir(modelsDir: string): Promise<void> {
  const probe = path.join(modelsDir, `.write-test-${process.pid}`);
  try {
    await fs.mkdir(modelsDir, { recursive: true });
    await fs.writeFile(probe, '', { flag: 'wx' });
    await fs.rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a file is in the way (not a folder)'
          : code === 'EROFS'
            ? 'the file system is read-only'
            : code;
    throw new ModelImportError('MODELS_DIR_UNWRITABLE', `Cannot write to the models folder ${modelsDir}: ${why}.`, {
      hint: 'Choose a folder you can write to with --models-dir (or modelsDir in the config file), or fix its permissions.',
      cause: error,
      details: { modelsDir, errno: code },
    });
  }
}
