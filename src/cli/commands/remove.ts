import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Registry } from '../../kernel/registry.js';
import { modelNotFound } from '../../kernel/pipeline-errors.js';
import { findName } from '../../kernel/model-name.js';
import { Staging } from '../../kernel/staging.js';
import { freeUnusedBlobs } from '../free-unused-blobs.js';
import { ModelImportError } from '../../kernel/errors.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';
import { entryFolder } from '../../util/path-policy.js';
import { formatBytes } from '../../util/format-bytes.js';

/** Removes a model: the registry entry and the folder go together, under the registry lock. */
export async function removeCommand(args: GlobalArgs & { name: string; yes?: boolean }): Promise<number> {
  try {
    const session = await loadSession(args, false);
    const registry = new Registry(session.modelsDir);
    const key = findName(args.name, Object.keys((await registry.read()).models));
    if (!key) throw modelNotFound(args.name, session.modelsDir);
    const sure =
      args.yes ||
      (await session.prompter.confirm({ message: `Remove the model "${key}" and its folder?`, flag: '--yes', default: false }));
    if (!sure) throw new ModelImportError('CANCELLED', `Nothing removed.`, { hint: 'Pass --yes to remove without asking.' });
    const staging = await Staging.begin(session.modelsDir, `remove-${key}`);
    try {
      const removed = await registry.update(async (data) => {
        const current = findName(args.name, Object.keys(data.models));
        if (!current) throw modelNotFound(args.name, session.modelsDir);
        const entry = data.models[current];
        // The entry's path is local state: checked (relative, inside, no link) before anything is renamed.
        const folder = await entryFolder(session.modelsDir, entry, current);
        // Move the folder out of sight first (one rename), so a crash leaves no half-removed model visible.
        await fs.rename(folder, staging.trashPath(current)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        delete data.models[current];
        return entry;
      });
      await staging.remove(); // the removed folder's links go first, so its blobs' link counts drop
      const freed = await freeUnusedBlobs(session.modelsDir, registry);
      if (args.json) printJson({ ok: true, removed, blobs_freed: freed.removed.length, bytes_freed: freed.bytesFreed });
      else process.stdout.write(terminalSafe(`Removed "${removed.model_name}" (${removed.model_id}); ${formatBytes(freed.bytesFreed)} of blobs no other model uses freed.\n`));
      return 0;
    } finally {
      await staging.remove();
    }
  } catch (error) {
    return reportError(error, args);
  }
}
