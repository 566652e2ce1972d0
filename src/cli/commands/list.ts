import { Registry } from '../../kernel/registry.js';
import type { ModelEntry } from '../../kernel/types.js';
import { formatBytes, table } from '../render/format.js';
import { relativeTime } from '../render/relative-time.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { terminalSafe } from '../../util/terminal-text.js';

/** Columns of `list`, fitted into 80 (like `ollama list`): the full figures are in `show` and `list --json`. */
const WIDTH = 80;

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
      typeof e.model_size === 'number' ? shortCount(e.model_size) : '?',
      typeof e.file_size === 'number' ? formatBytes(e.file_size) : '?',
      typeof e.created_at === 'string' ? relativeTime(e.created_at) : text(e.created_at),
    ]);
    const headers = ['NAME', 'MODEL ID', 'PARAMS', 'SIZE', 'IMPORTED'];
    // The two free-text columns share what the others leave of 80 columns; long ones end with "…".
    const fixed = [2, 3, 4].reduce((sum, i) => sum + Math.max(headers[i].length, ...rows.map((r) => r[i].length)) + 2, 0);
    const free = Math.max(20, WIDTH - 1 - fixed - 2);
    const nameWidth = Math.min(Math.max(4, ...rows.map((r) => r[0].length)), Math.floor(free / 2));
    const idWidth = free - nameWidth;
    const fitted = rows.map((r) => [clip(r[0], nameWidth), clip(r[1], idWidth), ...r.slice(2)]);
    // Where a model came from (when not the hub) and where it was pushed do not fit 80 columns: a line under the table.
    const places = entries.flatMap((e) => {
      const from = origin(e);
      const pushed = pushedTo(e);
      const parts = [from !== text(e.source) ? `from ${from}` : '', pushed ? `pushed to ${pushed}` : ''].filter(Boolean);
      return parts.length ? [`  ${text(e.model_name)}: ${parts.join('; ')}`] : [];
    });
    process.stdout.write(terminalSafe(`${table(headers, fitted)}\n${places.map((l) => `${l}\n`).join('')}`));
    return 0;
  } catch (error) {
    return reportError(error, args);
  }
}

/** Where the model came from: the source, or the registry artifact it was pulled from. */
function origin(entry: ModelEntry): string {
  const pulled = (entry.oci as { pulled_from?: unknown } | null | undefined)?.pulled_from;
  return typeof pulled === 'string' ? `oci://${pulled}` : text(entry.source);
}

/** Where it was pushed (written by `model-import push`). */
function pushedTo(entry: ModelEntry): string {
  const pushed: unknown[] = Array.isArray(entry.pushed_to) ? entry.pushed_to : [];
  return pushed.map((p) => (p as { reference?: unknown } | null)?.reference).filter((r): r is string => typeof r === 'string').join(', ');
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** 494032768 -> "494M", 7615616512 -> "7.6B", as model cards write parameter counts. */
export function shortCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)}B`;
  if (n >= 1e6) return `${Math.round(n / 1e6)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '?' : JSON.stringify(value);
}
