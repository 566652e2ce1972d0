/**
 * Peak resident memory of this process. On Linux the high-water mark (VmHWM) can be reset by writing 5 to
 * /proc/self/clear_refs, so the figure covers validation alone rather than everything the process did before
 * (downloads, conversion). Elsewhere it falls back to the lifetime peak (resourceUsage().maxRSS).
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Starts a new peak measurement; returns false when only the lifetime peak is available. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export function peakRssBytes(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
