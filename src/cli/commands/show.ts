import path from 'node:path';
import { Registry } from '../../kernel/registry.js';
import { modelNotFound } from '../../kernel/kernel.js';
import { findName } from '../../kernel/model-name.js';
import { METADATA_FILE } from '../../kernel/metadata.js';
import type { ModelEntry } from '../../kernel/types.js';
import { formatBytes, formatCount } from '../render/format.js';
import { relativeTime } from '../render/relative-time.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';
import { entryFolder } from '../../util/path-policy.js';

/** A short human summary of a model (like `ollama show`); --json prints its registry entry, all of it. */
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
    process.stdout.write(terminalSafe(summary(entry, await entryFolder(session.modelsDir, entry, key))));
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}

export function summary(entry: ModelEntry, folder: string, now = Date.now()): string {
  const license = entry.license?.name ?? entry.license?.id ?? 'not declared';
  const revision = entry.provenance?.commit
    ? `${entry.provenance.revision ?? 'main'} (${entry.provenance.commit.slice(0, 12)})`
    : (entry.provenance?.revision ?? '');
  const findings = entry.validation?.findings ?? [];
  const count = (status: string) => findings.filter((f) => f.status === status).length;
  const validation = entry.validation?.skipped
    ? 'skipped (--skip-validation)'
    : `${count('pass')} check${count('pass') === 1 ? '' : 's'} passed${count('warn') ? `, ${count('warn')} warnings` : ''}${count('skip') ? `, ${count('skip')} skipped` : ''}`;
  const rows: [string, string][] = [
    ['name', entry.model_name],
    ['model id', entry.model_id],
    ['architecture', entry.provenance?.architecture ?? entry.architecture_type],
    ['parameters', formatCount(entry.model_size)],
    ['dtype', entry.conversion?.dtype ?? ''],
    ['size', `${formatBytes(entry.file_size)} in ${entry.files?.length ?? 0} files`],
    ['license', license],
    ['revision', revision],
    ['imported', `${relativeTime(entry.created_at, now)} (${entry.created_at})`],
    ['validation', validation],
    ['folder', folder],
    ['metadata', path.join(folder, METADATA_FILE)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
    .join('\n')}\n`;
}
