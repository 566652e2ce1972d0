/**
 * How much memory this process may really use: the host's RAM, or less when a cgroup limits it (containers,
 * systemd slices, CI runners). cgroup v2: memory.max of the process's cgroup and of every ancestor (limits
 * nest, the smallest wins; "max" means none). cgroup v1: memory.limit_in_bytes of the memory controller's
 * cgroup and ancestors (a value near 2^63 means none). Inside a container the cgroup path in /proc/self/cgroup
 * may not exist under the namespaced mount, so the mount's own root file is read too.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MemoryLimit {
  bytes: number;
  /** Where the figure comes from, for the plan line ("cgroup v2 memory.max", "host RAM"). */
  source: 'cgroup v2 memory.max' | 'cgroup v1 memory.limit_in_bytes' | 'host RAM';
}

export interface MemoryLimitOptions {
  /** Filesystem root holding proc/self/cgroup and sys/fs/cgroup (tests use a temp folder). */
  root?: string;
  totalMemory?: number;
}

/** Values at or above this are "no limit" (v1 writes PAGE_COUNTER_MAX rounded to the page size). */
const UNLIMITED = 2 ** 60;

function readLimit(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (text === 'max') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value > 0 && value < UNLIMITED ? value : undefined;
}

/** The cgroup path and its ancestors, deepest first, under `mount`, plus the mount's root. */
function candidates(mount: string, cgroupPath: string, file: string): string[] {
  const out: string[] = [];
  let p = path.posix.normalize(`/${cgroupPath}`);
  for (;;) {
    out.push(path.join(mount, p, file));
    if (p === '/') break;
    p = path.posix.dirname(p);
  }
  return out;
}

export function memoryLimit(options: MemoryLimitOptions = {}): MemoryLimit {
  const root = options.root ?? '/';
  const total = options.totalMemory ?? os.totalmem();
  let lines: string[] = [];
  try {
    lines = readFileSync(path.join(root, 'proc/self/cgroup'), 'utf8').split('\n');
  } catch {
    // not Linux, or no /proc: the host's RAM is all we know
  }
  let best: MemoryLimit = { bytes: total, source: 'host RAM' };
  const consider = (files: string[], source: MemoryLimit['source']): void => {
    for (const file of files) {
      const limit = readLimit(file);
      if (limit !== undefined && limit < best.bytes) best = { bytes: limit, source };
    }
  };
  for (const line of lines) {
    // "hierarchy-id:controllers:path"; v2's unified hierarchy is "0::path".
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, controllers, cgroupPath] = match as unknown as [string, string, string];
    if (controllers === '') consider(candidates(path.join(root, 'sys/fs/cgroup'), cgroupPath, 'memory.max'), 'cgroup v2 memory.max');
    else if (controllers.split(',').includes('memory')) {
      consider(candidates(path.join(root, 'sys/fs/cgroup/memory'), cgroupPath, 'memory.limit_in_bytes'), 'cgroup v1 memory.limit_in_bytes');
    }
  }
  return best;
}

/** The validation budget when --max-memory is not given: half of what the process may use. */
export function defaultMemoryBudget(options: MemoryLimitOptions = {}): MemoryLimit {
  const limit = memoryLimit(options);
  return { bytes: Math.floor(limit.bytes / 2), source: limit.source };
}
