import { Registry } from '../../kernel/registry.js';
import { formatBytes, formatCount, table } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';

export async function listCommand(args: GlobalArgs): Promise<number> {
  try {
    const session = await loadSession(args, false);
    const data = await new Registry(session.modelsDir).read();
    const entries = Object.values(data.models).sort((a, b) => a.model_name.localeCompare(b.model_name));
    if (args.json) {
      printJson({ ok: true, modelsDir: session.modelsDir, models: entries });
      return 0;
    }
    if (entries.length === 0) {
      process.stdout.write(`No models registered in ${session.modelsDir}. Import one with: model-import import-model <repo_id>\n`);
      return 0;
    }
    const rows = entries.map((e) => [
      e.model_name,
      e.model_id,
      e.architecture_type,
      formatCount(e.model_size),
      formatBytes(e.file_size),
      e.license?.name ?? e.license?.id ?? '',
      e.created_at,
    ]);
    process.stdout.write(terminalSafe(`${table(['name', 'model id', 'architecture', 'parameters', 'size', 'license', 'imported'], rows)}\n`));
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}
