/**
 * Progress as an observer: plugins and the kernel emit events, renderers (terminal, JSON) listen.
 * Nothing here touches the terminal.
 */
import type { ComponentReport, Finding } from './types.js';

export type StageName = 'resolve' | 'authorize' | 'fetch' | 'convert' | 'validate' | 'register';

export type ReporterEvent =
  | { type: 'stage'; stage: StageName; status: 'start' | 'done' | 'failed' | 'skipped'; detail?: string }
  | { type: 'message'; level: 'info' | 'warn'; text: string; source?: string }
  | { type: 'task-start'; id: string; label: string; total: number; group?: string }
  /** `resumed`: these bytes were already here (a resumed download), not new work: no speed counts them. */
  | { type: 'task-progress'; id: string; done: number; total: number; resumed?: boolean }
  | { type: 'task-end'; id: string; status: 'done' | 'failed' | 'resumed'; done: number }
  | { type: 'component'; report: ComponentReport }
  | { type: 'license'; id?: string; name?: string; link?: string; excerpt?: string; modelId: string }
  | { type: 'validation'; findings: Finding[] }
  | { type: 'check'; status: 'start' | 'end'; validator: string; check: string; finding?: Finding }
  | { type: 'plan'; modelId: string; modelName: string; architecture: string; files: number; totalBytes: number };

export type ReporterListener = (event: ReporterEvent) => void;

/** A task whose bytes (or items) advance: a file download, a conversion pass. */
export interface TaskHandle {
  /** Add `amount` to what is done. */
  advance(amount: number): void;
  /** Set what is done (e.g. after a retry restarts a range). */
  set(done: number): void;
  /** Bytes that were already here when the task began (a resumed download): done, but not counted as speed. */
  resumeFrom(done: number): void;
  end(status?: 'done' | 'failed' | 'resumed'): void;
}

export class Reporter {
  private readonly listeners = new Set<ReporterListener>();
  private taskCounter = 0;

  subscribe(listener: ReporterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ReporterEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  info(text: string, source?: string): void {
    this.emit({ type: 'message', level: 'info', text, source });
  }

  warn(text: string, source?: string): void {
    this.emit({ type: 'message', level: 'warn', text, source });
  }

  component(report: ComponentReport): void {
    this.emit({ type: 'component', report });
  }

  /** Starts a task; `group` lets renderers sum tasks into one overall bar (e.g. "download"). */
  task(label: string, total: number, group?: string): TaskHandle {
    const id = `t${++this.taskCounter}`;
    let done = 0;
    let ended = false;
    this.emit({ type: 'task-start', id, label, total, group });
    return {
      advance: (amount) => {
        if (ended) return;
        done += amount;
        this.emit({ type: 'task-progress', id, done, total });
      },
      set: (value) => {
        if (ended) return;
        done = value;
        this.emit({ type: 'task-progress', id, done, total });
      },
      resumeFrom: (value) => {
        if (ended) return;
        done = value;
        this.emit({ type: 'task-progress', id, done, total, resumed: true });
      },
      end: (status = 'done') => {
        if (ended) return;
        ended = true;
        this.emit({ type: 'task-end', id, status, done });
      },
    };
  }
}
