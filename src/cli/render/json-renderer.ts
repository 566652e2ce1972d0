/**
 * --json: every event as one JSON line on stderr (for tools that want progress), throttled for progress;
 * stdout is kept for the single result document the command prints at the end.
 */
import type { Reporter, ReporterEvent } from '../../kernel/reporter.js';
import { jsonSafe } from '../../util/terminal-text.js';

export function attachJsonRenderer(reporter: Reporter, stream: NodeJS.WritableStream = process.stderr): () => void {
  const lastProgress = new Map<string, number>();
  return reporter.subscribe((event: ReporterEvent) => {
    if (event.type === 'task-progress') {
      const now = Date.now();
      if (now - (lastProgress.get(event.id) ?? 0) < 500 && event.done < event.total) return;
      lastProgress.set(event.id, now);
    }
    stream.write(`${jsonSafe(JSON.stringify({ ...event, time: new Date().toISOString() }))}\n`);
  });
}
