/**
 * Measuring tools for the benchmarks: wall time and peak RSS of whole commands (from the OS, not from inside
 * the measured process), and the CLI's own stage events (--json) to split an import into stages.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';

export interface Measured {
  wallMs: number;
  peakRssBytes: number;
  /**
   * Peak of the tree's summed PSS (smaps_rollup): pages several processes map — the weights file that the
   * onnxruntime and the transformers.js processes both map — are counted once, not once per process as in RSS.
   */
  peakPssBytes: number;
}

/** RSS and PSS of a process and all its descendants, from /proc (PSS 0 where smaps_rollup is missing). */
export async function treeMemory(pid: number): Promise<{ rss: number; pss: number }> {
  let total = 0;
  let pss = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    const status = await fs.readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    if (rss) total += Number(rss[1]) * 1024;
    const rollup = await fs.readFile(`/proc/${p}/smaps_rollup`, 'utf8').catch(() => '');
    const share = /^Pss:\s+(\d+) kB/m.exec(rollup);
    if (share) pss += Number(share[1]) * 1024;
    const tasks = await fs.readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const children = await fs.readFile(`/proc/${p}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of children.trim().split(/\s+/).filter(Boolean)) stack.push(Number(child));
    }
  }
  return { rss: total, pss };
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each stderr line (the CLI's --json events). */
  onStderrLine?: (line: string) => void;
  /** Called with each RSS sample. */
  onRss?: (bytes: number) => void;
}

/** Runs a command, sampling its process tree's RSS every 20 ms; rejects on a non-zero exit. */
export function measure(command: string, args: string[], options: RunOptions = {}): Promise<Measured & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let peakPss = 0;
    let stdout = '';
    let stderr = '';
    let pending = '';
    let sampling = false;
    const timer = setInterval(async () => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      const { rss, pss } = await treeMemory(child.pid);
      sampling = false;
      peak = Math.max(peak, rss);
      peakPss = Math.max(peakPss, pss);
      options.onRss?.(rss);
    }, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine?.(line);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      const wallMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      else resolve({ wallMs, peakRssBytes: peak, peakPssBytes: peakPss, stdout });
    });
  });
}

/** The shell pipeline that is the honest baseline for a verified download: fetch, write and hash the same bytes. */
export function curlPipeline(url: string, file: string): Promise<Measured & { stdout: string }> {
  return measure('bash', ['-c', `set -o pipefail; curl -sf "${url}" | tee "${file}" | openssl dgst -sha256`]);
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values };
}
