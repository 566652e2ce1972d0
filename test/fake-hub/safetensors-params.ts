/**
 * The hub's `safetensors` summary ({parameters: {dtype: n}, total}), computed from the root *.safetensors headers.
 * Any unreadable header makes the whole summary absent, as for a repo the hub could not parse.
 */
import type { FileEntry, Snapshot } from './repo-model.js';

export interface SafetensorsSummary {
  parameters: Record<string, number>;
  total: number;
}

const MAX_HEADER = 100_000_000;

async function readBytes(file: FileEntry, start: number, end: number): Promise<Buffer> {
  const bytes = await file.read(start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function countFile(file: FileEntry, into: Record<string, number>): Promise<boolean> {
  if (file.size < 8) return false;
  const n = Number((await readBytes(file, 0, 8)).readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > file.size) return false;
  let header: unknown;
  try {
    header = JSON.parse((await readBytes(file, 8, 8 + n)).toString('utf8'));
  } catch {
    return false;
  }
  if (!header || typeof header !== 'object') return false;
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype, shape } = (info ?? {}) as { dtype?: unknown; shape?: unknown };
    if (typeof dtype !== 'string' || !Array.isArray(shape)) return false;
    const count = shape.reduce((a: number, d: unknown) => a * Number(d), 1);
    if (!Number.isFinite(count)) return false;
    into[dtype] = (into[dtype] ?? 0) + count;
  }
  return true;
}

export async function safetensorsSummary(snap: Snapshot): Promise<SafetensorsSummary | undefined> {
  const files = [...snap.files.values()].filter((f) => !f.path.includes('/') && f.path.endsWith('.safetensors'));
  if (files.length === 0) return undefined;
  const parameters: Record<string, number> = {};
  for (const file of files) if (!(await countFile(file, parameters))) return undefined;
  return { parameters, total: Object.values(parameters).reduce((a, b) => a + b, 0) };
}
