import { Registry } from '../../kernel/registry.js';
import { formatBytes, formatCount, table } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';

export async function listCommand(args: GlobalArgs): Promise<number> {
  try {
    const session = await loadSession(args, false);
    const data = await new Registry(session.modelsDir).read();
    const entries = Object.values(data.models).sort((a, b) => text(a.model_name).localeCompare(text(b.model_name)));
    if (args.json) {
      printJson({ ok: true, modelsDir: session.modelsDir, models: entries });
      return 0;
    }
    if (entries.length === 0) {
      process.stdout.write(`No models registered in ${session.modelsDir}. Import one with: model-import import-model <repo_id>\n`);
      return 0;
    }
    // Entries are local state: a field missing or of the wrong type is shown as "?", never crashes the listing.
    const rows = entries.map((e) => [
      text(e.model_name),
      text(e.model_id),
      text(e.architecture_type),
      typeof e.model_size === 'number' ? formatCount(e.model_size) : '?',
      typeof e.file_size === 'number' ? formatBytes(e.file_size) : '?',
      text(e.license?.name ?? e.license?.id ?? ''),
      text(e.created_at),
    ]);
    process.stdout.write(terminalSafe(`${table(['name', 'model id', 'architecture', 'parameters', 'size', 'license', 'imported'], rows)}\n`));
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '?' : JSON.stringify(value);
}
