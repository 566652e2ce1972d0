import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Reporter } from '../../kernel/reporter.js';
import { attachTerminalRenderer, barLayout } from './terminal-renderer.js';

/** The renderer's plain-line mode (no terminal): what it prints for the events given. */
function render(events: (reporter: Reporter) => void): string {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let out = '';
  (stream as unknown as PassThrough).on('data', (d) => (out += d));
  const reporter = new Reporter();
  const detach = attachTerminalRenderer(reporter, stream);
  events(reporter);
  detach();
  return out;
}

describe('terminal renderer', () => {
  it('counts resumed bytes in the percentage, not in the speed', () => {
    const out = render((reporter) => {
      const task = reporter.task('model.safetensors', 1_000_000_000, 'download');
      task.resumeFrom(900_000_000);
    });
    expect(out).toMatch(/download: 90% of 1\.00 GB \(900\.0 MB\), 0 B\/s, ETA --/);
  });

  it('a stage that fails or stops prints no internal stage name', () => {
    const out = render((reporter) => {
      reporter.emit({ type: 'stage', stage: 'resolve', status: 'start' });
      reporter.emit({ type: 'stage', stage: 'resolve', status: 'failed' });
    });
    expect(out).toBe('Resolving...\n');
  });

  it('picks a bar layout that fits the width, percentage and size first', () => {
    for (const columns of [40, 60, 72, 80, 95, 96, 100, 107, 108, 125, 126, 160]) {
      const layout = barLayout(columns);
      const line = layout.format
        .replace('{label}', 'x'.repeat(layout.label))
        .replace('{bar}', '#'.repeat(layout.barsize))
        .replace('{percentage}', '100')
        .replace('{doneText}', '999.9 MB')
        .replace('{totalText}', '999.9 MB')
        .replace('{speedText}', '999.9 MB/s')
        .replace('{etaText}', '59m59s')
        .replace('{elapsedText}', '59m59s');
      expect(line.length, `${columns}: ${line}`).toBeLessThan(columns);
      expect(line).toMatch(/100%( \|)? 999\.9 MB\/999\.9 MB/);
      if (columns >= 96) expect(line).toMatch(/59m59s elapsed/);
    }
  });

  it('shows the elapsed time of a download', () => {
    const out = render((reporter) => {
      const task = reporter.task('model.safetensors', 1_000_000, 'download');
      task.advance(1_000_000);
    });
    expect(out).toMatch(/download: 100% of 1\.00 MB \(1\.00 MB\), [^,]+, ETA [^,]+, \d+s elapsed\n/);
  });
});
