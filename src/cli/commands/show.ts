import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Registry } from '../../kernel/registry.js';
import { modelNotFound } from '../../kernel/kernel.js';
import { findName } from '../../kernel/model-name.js';
import { METADATA_FILE } from '../../kernel/metadata.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';
import { entryFolder } from '../../util/path-policy.js';

/** Prints metadata.json of a model (with its explanations), or the registry entry with --json. */
export async function showCommand(args: GlobalArgs & { name: string }): Promise<number> {
  try {
    const session = await loadSession(args, false);
    const data = await new Registry(session.modelsDir).read();
    const key = findName(args.name, Object.keys(data.models));
    if (!key) throw modelNotFound(args.name, session.modelsDir);
    const entry = data.models[key];
    if (args.json) {
      printJson({ ok: true, model: entry });
      return 0;
    }
    const file = path.join(await entryFolder(session.modelsDir, entry, key), METADATA_FILE);
    const text = await fs.readFile(file, 'utf8').catch(() => `${JSON.stringify(entry, null, 2)}\n`);
    process.stdout.write(terminalSafe(text));
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}
