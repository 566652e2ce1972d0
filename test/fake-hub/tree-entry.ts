/**
 * The JSON entries of /tree and /paths-info (reference §3.1): files with oid, size and lfs; directories with their git
 * tree oid and size 0; with expand=true also lastCommit and securityFileStatus. Never an xetHash (§3.5).
 */
import { FAKE_COMMIT_DATE, FAKE_COMMIT_TITLE } from './git-hash.js';
import type { DirEntry, ExtraEntry, FileEntry, LfsInfo, Snapshot } from './repo-model.js';

export interface TreeEntryJson {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: LfsInfo;
  lastCommit?: { id: string; title: string; date: string };
  securityFileStatus?: { status: string };
}

type Listed = { kind: 'file'; file: FileEntry } | { kind: 'dir'; dir: DirEntry } | { kind: 'extra'; extra: ExtraEntry };

export function entryJson(item: Listed, snap: Snapshot, expand: boolean): TreeEntryJson {
  let json: TreeEntryJson;
  if (item.kind === 'file') {
    const f = item.file;
    json = { type: 'file', oid: f.oid, size: f.listedSize, path: f.path, ...(f.lfs ? { lfs: { ...f.lfs } } : {}) };
  } else if (item.kind === 'dir') {
    json = { type: 'directory', oid: item.dir.oid, size: 0, path: item.dir.path };
  } else {
    json = { type: 'file', oid: item.extra.oid, size: item.extra.size, path: item.extra.path };
  }
  if (expand) {
    json.lastCommit = { id: snap.commit, title: FAKE_COMMIT_TITLE, date: FAKE_COMMIT_DATE };
    if (json.type === 'file') json.securityFileStatus = { status: 'safe' };
  }
  return json;
}

export function lookupPath(snap: Snapshot, path: string): Listed | undefined {
  const file = snap.files.get(path);
  if (file) return { kind: 'file', file };
  const dir = snap.dirs.get(path);
  if (dir) return { kind: 'dir', dir };
  const extra = snap.extras.find((e) => e.path === path);
  return extra ? { kind: 'extra', extra } : undefined;
}

const pathOf = (item: Listed) => (item.kind === 'file' ? item.file.path : item.kind === 'dir' ? item.dir.path : item.extra.path);

/**
 * Entries under directory `dir` ('' = root), sorted by path: immediate children, or everything below when recursive
 * (directories included). Phantom entries are listed under their literal prefix, whatever their shape.
 * Undefined when `dir` is neither '' nor a directory.
 */
export function listDirectory(snap: Snapshot, dir: string, recursive: boolean): Listed[] | undefined {
  if (dir !== '' && !snap.dirs.has(dir)) return undefined;
  const prefix = dir === '' ? '' : `${dir}/`;
  const inScope = (path: string) => path.startsWith(prefix) && (recursive || !path.slice(prefix.length).includes('/'));
  const items: Listed[] = [];
  for (const d of snap.dirs.values()) if (inScope(d.path)) items.push({ kind: 'dir', dir: d });
  for (const f of snap.files.values()) if (inScope(f.path)) items.push({ kind: 'file', file: f });
  for (const e of snap.extras) if (e.path.startsWith(prefix)) items.push({ kind: 'extra', extra: e });
  return items.sort((a, b) => (pathOf(a) < pathOf(b) ? -1 : pathOf(a) > pathOf(b) ? 1 : 0));
}
