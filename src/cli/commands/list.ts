import { Registry } from '../../kernel/registry.js';
import type { ModelEntry } from '../../kernel/types.js';
import { formatBytes, formatCount, table } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';

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
      origin(e),
      pushedTo(e),
    ]);
    process.stdout.write(`${table(['name', 'model id', 'architecture', 'parameters', 'size', 'license', 'imported', 'from', 'pushed to'], rows)}\n`);
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}

/** Where the model came from: the source, or the registry artifact it was pulled from. */
function origin(entry: ModelEntry): string {
  const oci = entry.oci as { pulled_from?: string } | undefined;
  return oci?.pulled_from ? `oci://${oci.pulled_from}` : entry.source;
}

/** Where it was pushed (written by `model-import push`). */
function pushedTo(entry: ModelEntry): string {
  const pushed = (entry.pushed_to as { reference?: string }[] | undefined) ?? [];
  return pushed.map((p) => p.reference ?? '').filter(Boolean).join(', ');
}
