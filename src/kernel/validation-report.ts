/**
 * Validators collect findings; the kernel judges. A validator never decides on its own whether the import
 * may be registered: it reports pass / fail / warn / skip with figures, and any `fail` blocks registration.
 */
import type { Reporter } from './reporter.js';
import type { Finding, FindingStatus } from './types.js';

export class ValidationReport {
  readonly findings: Finding[] = [];
  /**
   * Findings keep the order their checks started in, not the order they ended: checks that run side by side
   * (transformers.js beside the layer sample) then give the same record, and the same metadata.json, every time.
   */
  private readonly startedAt = new Map<string, number>();
  private readonly orderOf = new WeakMap<Finding, number>();
  private sequence = 0;
  /** Figures validators want kept in metadata.validation.figures (max |Δ|, timings, memory, prompt). */
  readonly figures: Record<string, unknown> = {};

  /** With a reporter, every check is shown as it starts (start()) and as it ends (its finding). */
  constructor(private readonly reporter?: Reporter) {}

  /** Says a long check begins (hashing, loading a graph, a forward pass), so the user is not left at a still line. */
  start(validator: string, check: string): void {
    const key = `${validator}\u0000${check}`;
    if (!this.startedAt.has(key)) this.startedAt.set(key, this.sequence++);
    this.reporter?.emit({ type: 'check', status: 'start', validator, check });
  }

  add(finding: Finding): Finding {
    const key = `${finding.validator}\u0000${finding.check}`;
    const order = this.startedAt.get(key) ?? this.sequence++;
    this.startedAt.delete(key);
    this.orderOf.set(finding, order);
    let at = this.findings.length;
    while (at > 0 && (this.orderOf.get(this.findings[at - 1]) ?? -1) > order) at--;
    this.findings.splice(at, 0, finding);
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
