/**
 * Validators collect findings; the kernel judges. A validator never decides on its own whether the import
 * may be registered: it reports pass / fail / warn / skip with figures, and any `fail` blocks registration.
 */
import type { Reporter } from './reporter.js';
import type { Finding, FindingStatus } from './types.js';

export class ValidationReport {
  readonly findings: Finding[] = [];
  /** Figures validators want kept in metadata.validation.figures (max |Δ|, timings, memory, prompt). */
  readonly figures: Record<string, unknown> = {};

  /** With a reporter, every check is shown as it starts (start()) and as it ends (its finding). */
  constructor(private readonly reporter?: Reporter) {}

  /** Says a long check begins (hashing, loading a graph, a forward pass), so the user is not left at a still line. */
  start(validator: string, check: string): void {
    this.reporter?.emit({ type: 'check', status: 'start', validator, check });
  }

  add(finding: Finding): Finding {
    this.findings.push(finding);
    this.reporter?.emit({ type: 'check', status: 'end', validator: finding.validator, check: finding.check, finding });
    return finding;
  }

  pass(validator: string, check: string, figure?: string): Finding {
    return this.add({ validator, check, status: 'pass', figure });
  }

  fail(validator: string, check: string, message: string, extra: Partial<Finding> = {}): Finding {
    return this.add({ validator, check, status: 'fail', message, ...extra });
  }

  warn(validator: string, check: string, message: string, extra: Partial<Finding> = {}): Finding {
    return this.add({ validator, check, status: 'warn', message, ...extra });
  }

  skip(validator: string, check: string, message: string): Finding {
    return this.add({ validator, check, status: 'skip', message });
  }

  record(key: string, value: unknown): void {
    this.figures[key] = value;
  }

  count(status: FindingStatus): number {
    return this.findings.filter((f) => f.status === status).length;
  }

  get failures(): Finding[] {
    return this.findings.filter((f) => f.status === 'fail');
  }

  get passed(): boolean {
    return this.failures.length === 0;
  }
}
