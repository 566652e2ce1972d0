import path from 'node:path';
import { Registry } from '../../kernel/registry.js';
import { modelNotFound } from '../../kernel/pipeline-errors.js';
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

/**
 * The entry is local state (registry.json may have been edited by hand or damaged): every field is checked for its
 * type before use, and a missing or odd one is shown as "?", never a crash.
 */
export function summary(entry: ModelEntry, folder: string, now = Date.now()): string {
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  const license = str(entry.license?.name) ?? str(entry.license?.id) ?? 'not declared';
  const commit = str(entry.provenance?.commit);
  const revisionName = str(entry.provenance?.revision);
  const revision = commit ? `${revisionName ?? 'main'} (${commit.slice(0, 12)})` : (revisionName ?? '');
  const findings: { status?: unknown }[] = Array.isArray(entry.validation?.findings) ? entry.validation.findings : [];
  const count = (status: string) => findings.filter((f) => f?.status === status).length;
  const validation = entry.validation?.skipped
    ? 'skipped (--skip-validation)'
    : `${count('pass')} check${count('pass') === 1 ? '' : 's'} passed${count('warn') ? `, ${count('warn')} warnings` : ''}${count('skip') ? `, ${count('skip')} skipped` : ''}`;
  const parameters = num(entry.model_size);
  const bytes = num(entry.file_size);
  const files = Array.isArray(entry.files) ? entry.files.length : 0;
  const created = str(entry.created_at);
  const rows: [string, string][] = [
    ['name', str(entry.model_name) ?? '?'],
    ['model id', str(entry.model_id) ?? '?'],
    ['architecture', str(entry.provenance?.architecture) ?? str(entry.architecture_type) ?? '?'],
    ['parameters', parameters === undefined ? '?' : formatCount(parameters)],
    ['dtype', str(entry.conversion?.dtype) ?? ''],
    ['size', `${bytes === undefined ? '?' : formatBytes(bytes)} in ${files} files`],
    ['license', license],
    ['revision', revision],
    ['imported', created ? `${relativeTime(created, now)} (${created})` : '?'],
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
