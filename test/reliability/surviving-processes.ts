/**
 * Finds processes that carry a marker in their environment (children inherit it), so a suite can check that a
 * killed import left no worker behind, whoever their parent is now. Linux /proc only; elsewhere it finds nothing.
 */
import { promises as fs } from 'node:fs';

export async function processesWithEnv(marker: string): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await fs.readFile(`/proc/${entry}/environ`, 'latin1');
      if (!environ.split('\0').includes(marker)) continue;
      const cmdline = (await fs.readFile(`/proc/${entry}/cmdline`, 'latin1')).split('\0').join(' ').trim();
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
