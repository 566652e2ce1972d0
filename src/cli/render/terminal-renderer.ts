/**
 * The human view of an import on stderr: stage lines, the license, progress bars with percentage, speed,
 * ETA and total size (one overall bar per group plus one bar per running task), per-component conversion
 * status with warnings, and the validation table. Without a terminal it prints plain lines instead of bars.
 */
import cliProgress from 'cli-progress';
import type { Reporter, ReporterEvent } from '../../kernel/reporter.js';
import type { Finding } from '../../kernel/types.js';
import { formatBytes, formatDuration, table } from './format.js';
import { Speedometer } from './speedometer.js';
import { terminalSafe } from '../../util/terminal-text.js';

interface Task {
  label: string;
  total: number;
  done: number;
  group?: string;
  bar?: cliProgress.SingleBar;
  speed: Speedometer;
  /** Bytes that were already here (resumed): in the percentage, not in the speed. */
  resumed: number;
  /** When it started (Date.now()), for the elapsed time. */
  started: number;
}

interface Group {
  total: number;
  done: number;
  speed: Speedometer;
  bar?: cliProgress.SingleBar;
  lastLine: number;
  lastPercent: number;
  /** The total came from the plan; tasks do not add to it. */
  fixedTotal: boolean;
  /** Bytes that were already here (resumed downloads): in the percentage, not in the speed. */
  resumed: number;
  /** When its first task started (Date.now()), for the elapsed time. */
  started: number;
}

const STAGE_TITLES: Record<string, string> = {
  resolve: 'Resolving',
  authorize: 'Checking access, license and disk space',
  fetch: 'Downloading',
  convert: 'Converting',
  validate: 'Validating',
  register: 'Registering',
};

const SYMBOL = { ok: '✔', warning: '⚠', missing: '⚠', failed: '✖', pass: '✔', fail: '✖', warn: '⚠', skip: '-' } as const;

export function attachTerminalRenderer(reporter: Reporter, stream: NodeJS.WriteStream = process.stderr): () => void {
  const fancy = Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
  const tasks = new Map<string, Task>();
  const groups = new Map<string, Group>();
  let multibar: cliProgress.MultiBar | undefined;
  /** The plan announces the download size up front, so the overall bar is right from its first byte. */
  let plannedBytes: number | undefined;
  let fetchStarted = 0;
  const checkStarted = new Map<string, number>();
  let checksShown = false;

  // Every line quotes the hub (names, license, file names): escape control and bidi characters, one choke point.
  const write = (raw: string) => {
    const line = terminalSafe(raw);
    if (multibar) multibar.log(`${line}\n`);
    else stream.write(`${line}\n`);
  };

  const layout = barLayout(stream.columns || 80);
  const ensureMultibar = () => {
    multibar ??= new cliProgress.MultiBar(
      {
        stream,
        clearOnComplete: true,
        hideCursor: true,
        autopadding: true,
        fps: 8,
        barsize: layout.barsize,
        format: layout.format,
        // Wrapping stays on: cli-progress trims each bar to the width itself, and lines printed above the bars
        // (license text, warnings) wrap instead of being cut at the right edge.
        linewrap: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return multibar;
  };

  /**
   * Stops the bars. `keep` leaves them on screen as they were (an interruption or a failure: the user sees how
   * far it got); otherwise they are erased (a finished download, replaced by its summary line).
   */
  const stopBars = (keep = false) => {
    if (multibar && keep) (multibar as unknown as { options: { clearOnComplete: boolean } }).options.clearOnComplete = false;
    multibar?.stop();
    multibar = undefined;
    for (const group of groups.values()) group.bar = undefined;
    for (const task of tasks.values()) task.bar = undefined;
  };

  const payload = (rawLabel: string, done: number, total: number, speed: Speedometer, started: number, label = terminalSafe(rawLabel, true)) => ({
    label: label.length > layout.label ? `…${label.slice(-(layout.label - 1))}` : label.padEnd(layout.label),
    doneText: formatBytes(done),
    totalText: formatBytes(total),
    speedText: `${formatBytes(speed.bytesPerSecond())}/s`,
    etaText: formatDuration(speed.etaSeconds(done, total)),
    elapsedText: formatDuration(Math.max(0, Date.now() - started) / 1000),
  });

  /** "download (total)", or just "total" where the label column is narrow. */
  const groupLabel = (name: string) => (layout.label >= 16 ? `${name} (total)` : 'total');

  const groupOf = (name: string) => {
    let group = groups.get(name);
    if (!group) {
      group = { total: 0, done: 0, speed: new Speedometer(), lastLine: 0, lastPercent: -1, fixedTotal: false, resumed: 0, started: Date.now() };
      groups.set(name, group);
    }
    return group;
  };

  const updateGroup = (name: string) => {
    const group = groupOf(name);
    group.speed.sample(group.done - group.resumed);
    const total = Math.max(group.total, 1);
    if (fancy) {
      const cells = payload(groupLabel(name), group.done, group.total, group.speed, group.started);
      if (!group.bar) group.bar = ensureMultibar().create(total, group.done, cells);
      group.bar.setTotal(total);
      group.bar.update(group.done, cells);
      return;
    }
    const percent = Math.floor((group.done / total) * 100);
    const now = Date.now();
    if (percent >= group.lastPercent + 10 || (now - group.lastLine > 5_000 && percent !== group.lastPercent) || group.done >= group.total) {
      if (percent === group.lastPercent && group.done < group.total) return;
      group.lastPercent = percent;
      group.lastLine = now;
      stream.write(
        `  ${terminalSafe(name, true)}: ${percent}% of ${formatBytes(group.total)} (${formatBytes(group.done)}), ${formatBytes(group.speed.bytesPerSecond())}/s, ETA ${formatDuration(group.speed.etaSeconds(group.done, group.total))}, ${formatDuration((now - group.started) / 1000)} elapsed\n`,
      );
    }
  };

  const onEvent = (event: ReporterEvent) => {
    switch (event.type) {
      case 'stage':
        if (event.status === 'start') write(`${STAGE_TITLES[event.stage] ?? event.stage}...`);
        else if (event.status === 'skipped') write(`${STAGE_TITLES[event.stage] ?? event.stage}: skipped (${event.detail ?? ''})`);
        else if (event.status === 'failed') {
          // No line of its own: the reason follows (an error, or a neutral line for a choice or Ctrl-C), and an
          // internal stage name means nothing to the user.
          stopBars(true);
        } else if (event.stage === 'fetch') {
          stopBars();
          const group = groups.get('download') ?? groups.get('copy');
          if (group && fetchStarted) {
            const seconds = (Date.now() - fetchStarted) / 1000;
            write(`  ${SYMBOL.ok} ${formatBytes(group.done)} in ${seconds.toFixed(1)} s (${formatBytes(group.done / Math.max(seconds, 0.001))}/s), every file's hash checked`);
          }
        }
        if (event.stage === 'fetch' && event.status === 'start') fetchStarted = Date.now();
        break;
      case 'plan':
        plannedBytes = event.totalBytes;
        write(`  ${event.modelId} -> "${event.modelName}" (${event.architecture}), ${event.files} files, ${formatBytes(event.totalBytes)} to download`);
        break;
      case 'license': {
        const name = event.name ?? event.id ?? 'not declared';
        write(`  License of ${event.modelId}: ${name}${event.id && event.name && event.id !== event.name ? ` (${event.id})` : ''}`);
        if (event.link) write(`  Terms: ${event.link}`);
        if (event.excerpt) {
          for (const line of event.excerpt.split('\n').slice(0, 25)) write(`    | ${line}`);
        }
        break;
      }
      case 'message':
        write(`${event.level === 'warn' ? `${SYMBOL.warning} warning` : '  info'}: ${event.text}`);
        break;
      case 'task-start': {
        const task: Task = { label: event.label, total: event.total, done: 0, group: event.group, speed: new Speedometer(), resumed: 0, started: Date.now() };
        tasks.set(event.id, task);
        if (event.group) {
          const isNew = !groups.has(event.group);
          const group = groupOf(event.group);
          if (isNew && plannedBytes !== undefined && (event.group === 'download' || event.group === 'copy')) {
            group.total = plannedBytes;
            group.fixedTotal = true;
          }
          if (!group.fixedTotal) group.total += event.total;
          updateGroup(event.group);
        }
        if (fancy) task.bar = ensureMultibar().create(Math.max(event.total, 1), 0, payload(event.label, 0, event.total, task.speed, task.started));
        break;
      }
      case 'task-progress': {
        const task = tasks.get(event.id);
        if (!task) break;
        const delta = event.done - task.done;
        task.done = event.done;
        if (event.resumed) task.resumed += delta;
        task.speed.sample(event.done - task.resumed);
        task.bar?.update(Math.min(event.done, Math.max(task.total, 1)), payload(task.label, event.done, task.total, task.speed, task.started));
        if (task.group) {
          groupOf(task.group).done += delta;
          if (event.resumed) groupOf(task.group).resumed += delta;
          updateGroup(task.group);
        }
        break;
      }
      case 'task-end': {
        const task = tasks.get(event.id);
        if (!task) break;
        if (task.bar) {
          multibar?.remove(task.bar);
          task.bar = undefined;
        }
        if (!fancy && event.status === 'failed') write(`  ${task.label}: failed`);
        tasks.delete(event.id);
        break;
      }
      case 'component': {
        const r = event.report;
        write(`  ${SYMBOL[r.status] ?? '-'} ${r.component}: ${r.detail}`);
        for (const warning of r.warnings) write(`      ${SYMBOL.warning} ${warning}`);
        break;
      }
      case 'check': {
        // Each check as it starts and ends, so a long one (hashing, a forward pass) is not a still line.
        const key = `${event.validator}/${event.check}`;
        if (event.status === 'start') {
          checkStarted.set(key, Date.now());
          write(`  … ${event.check}`);
          break;
        }
        const f = event.finding;
        if (!f) break;
        const began = checkStarted.get(key);
        checkStarted.delete(key);
        checksShown = true;
        const took = began === undefined ? '' : ` (${formatSeconds((Date.now() - began) / 1000)})`;
        const text = f.status === 'pass' ? (f.figure ?? '') : [f.message, f.figure].filter(Boolean).join('; ');
        write(`  ${SYMBOL[f.status]} ${f.check}${text ? `: ${text}` : ''}${took}`);
        break;
      }
      case 'validation':
        // Already shown check by check; the table is for validators that reported nothing live.
        if (!checksShown) write(renderFindings(event.findings));
        break;
    }
  };

  const unsubscribe = reporter.subscribe(onEvent);
  // Bars still on screen when the renderer is detached belong to work that did not finish: keep them.
  return () => {
    unsubscribe();
    stopBars(true);
  };
}

/**
 * The bar line for a terminal `columns` wide, always one column short of it (a line exactly as wide as the
 * terminal leaves the cursor in the pending-wrap state and the next redraw lands a line low). The percentage
 * and the size come first, so they survive the narrowest layout; speed and ETA go when there is no room.
 */
export function barLayout(columns: number): { format: string; barsize: number; label: number } {
  // Widest cells: "100%", "999.9 MB/999.9 MB", "999.9 MB/s", "59m59s".
  if (columns >= 126) {
    return { label: 28, barsize: 24, format: ' {label} |{bar}| {percentage}% | {doneText}/{totalText} | {speedText} | {elapsedText} elapsed | ETA {etaText}' };
  }
  if (columns >= 96) {
    // 1 + label + 1 + bar + " 100% " + 17 + 1 + 10 + " " + 6 + " elapsed" + " ETA " + 6 = label + bar + 62
    const label = 16;
    return { label, barsize: columns - 1 - label - 62, format: ' {label} {bar} {percentage}% {doneText}/{totalText} {speedText} {elapsedText} elapsed ETA {etaText}' };
  }
  if (columns >= 72) {
    // 1 + label + 1 + bar + " 100% " + 17 + 1 + 10 + " ETA " + 6 = label + bar + 47
    const label = 16;
    return { label, barsize: columns - 1 - label - 47, format: ' {label} {bar} {percentage}% {doneText}/{totalText} {speedText} ETA {etaText}' };
  }
  // 1 + label + " 100% " + 17 = label + 24
  return { label: Math.max(6, columns - 1 - 24), barsize: 0, format: ' {label} {percentage}% {doneText}/{totalText}' };
}

function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : formatDuration(seconds);
}

export function renderFindings(findings: Finding[]): string {
  const rows = findings.map((f) => [
    `${SYMBOL[f.status]} ${f.status}`,
    f.check,
    f.figure ?? '',
    f.status === 'pass' ? '' : (f.message ?? ''),
  ]);
  return table(['result', 'check', 'figure', 'details'], rows)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
