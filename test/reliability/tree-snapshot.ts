/**
 * A fingerprint of a folder (every path with its type, size and sha256, or link target), to prove that a run wrote
 * nothing outside the places it may write.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type Snapshot = Map<string, string>;

/** `skip(relative)` true: neither recorded nor descended into. */
export async function snapshotTree(root: string, skip: (relative: string) => boolean = () => false): Promise<Snapshot> {
  const out: Snapshot = new Map();
  async function walk(dir: string, prefix: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (skip(rel)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) out.set(rel, `link -> ${await fs.readlink(full)}`);
      else if (entry.isDirectory()) {
        out.set(rel, 'dir');
        await walk(full, rel);
      } else {
        const bytes = await fs.readFile(full).catch(() => undefined);
        out.set(rel, bytes ? `file ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}` : 'unreadable');
      }
    }
  }
  await walk(root, '');
  return out;
}

/** What changed between two snapshots, one line per path. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const changes: string[] = [];
  for (const [rel, what] of after) {
    if (!before.has(rel)) changes.push(`created ${rel} (${what.split(' ')[0]})`);
    else if (before.get(rel) !== what) changes.push(`changed ${rel}`);
  }
  for (const rel of before.keys()) if (!after.has(rel)) changes.push(`removed ${rel}`);
  return changes;
}
