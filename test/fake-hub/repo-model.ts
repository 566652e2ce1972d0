/**
 * Turns a FakeRepo into what the routes serve: one snapshot per branch with every file's oid (git blob SHA-1, or the
 * SHA-1 of the LFS pointer), LFS info, directory tree oids and a commit sha, all computed as git would.
 */
import { createHash } from 'node:crypto';
import { gitBlobSha1, gitCommitSha1, gitTreeSha1, lfsPointer, sha256Hex, type GitTreeItem } from './git-hash.js';
import type { FakeRepo, LazyFile, RepoFiles } from './types.js';

/** Extensions the hub's default .gitattributes sends to LFS. */
const LFS_EXTENSIONS = ['.safetensors', '.bin', '.onnx', '.onnx_data', '.gguf', '.pt', '.pth', '.ckpt', '.h5', '.msgpack', '.model'];
/** tokenizer.json above this many bytes is LFS (as in real Qwen repos). */
export const LFS_TOKENIZER_THRESHOLD = 10_000;
/** Any file above this many bytes is LFS. */
export const LFS_SIZE_THRESHOLD = 100_000;
/** Content counted by `weightBytesServed`. */
export const WEIGHT_EXTENSIONS = ['.safetensors', '.bin', '.pt', '.pth', '.gguf', '.onnx', '.onnx_data', '.ckpt', '.h5', '.msgpack'];

export interface LfsInfo {
  oid: string;
  size: number;
  pointerSize: number;
}

export interface FileEntry {
  path: string;
  /** Real content size: what /resolve serves. */
  size: number;
  /** What tree, paths-info and siblings report (declaredSizes may lie). */
  listedSize: number;
  /** Tree `oid`: blob SHA-1 of the content, or of the pointer for LFS files. */
  oid: string;
  /** Set for LFS files only. `lfs.oid` is the SHA-256 of the real content. */
  lfs?: LfsInfo;
  /** The pointer blob, served by /raw for LFS files. */
  pointer?: Buffer;
  isWeight: boolean;
  read(start: number, end: number): Uint8Array | Promise<Uint8Array>;
}

export interface DirEntry {
  path: string;
  oid: string;
}

/** A listed path without content (hostile or phantom entries). */
export interface ExtraEntry {
  path: string;
  size: number;
  oid: string;
}

export interface Snapshot {
  repoId: string;
  branch: string;
  commit: string;
  files: Map<string, FileEntry>;
  dirs: Map<string, DirEntry>;
  extras: ExtraEntry[];
}

export interface RepoModel {
  repo: FakeRepo;
  id: string;
  /** 24-hex opaque id, like the hub's Mongo ids (`_id`). */
  objectId: string;
  main: Snapshot;
  branches: Map<string, Snapshot>;
}

const hasExt = (path: string, exts: string[]) => exts.some((e) => path.toLowerCase().endsWith(e));
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export function isLfsPath(path: string, size: number): boolean {
  if (hasExt(path, LFS_EXTENSIONS)) return true;
  if (baseName(path) === 'tokenizer.json' && size > LFS_TOKENIZER_THRESHOLD) return true;
  return size > LFS_SIZE_THRESHOLD;
}

export function isWeightPath(path: string): boolean {
  return hasExt(path, WEIGHT_EXTENSIONS);
}

function lfsFields(sha256: string, listedSize: number): { lfs: LfsInfo; pointer: Buffer; oid: string } {
  const pointer = lfsPointer(sha256, listedSize);
  return { lfs: { oid: sha256, size: listedSize, pointerSize: pointer.byteLength }, pointer, oid: gitBlobSha1(pointer) };
}

function bytesEntry(path: string, bytes: Uint8Array, declared: number | undefined): FileEntry {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
  const listedSize = declared ?? buf.byteLength;
  const read = (start: number, end: number) => buf.subarray(start, end);
  const base = { path, size: buf.byteLength, listedSize, isWeight: isWeightPath(path), read };
  if (!isLfsPath(path, buf.byteLength)) return { ...base, oid: gitBlobSha1(buf) };
  return { ...base, ...lfsFields(sha256Hex(buf), listedSize) };
}

function lazyEntry(path: string, file: LazyFile, declared: number | undefined): FileEntry {
  const listedSize = declared ?? file.size;
  return {
    path,
    size: file.size,
    listedSize,
    isWeight: isWeightPath(path),
    read: (start, end) => file.read(start, end),
    ...lfsFields(file.sha256.toLowerCase(), listedSize),
  };
}

/** Git tree oids of every directory, bottom-up, plus the root tree oid. */
function buildDirs(files: Map<string, FileEntry>): { dirs: Map<string, DirEntry>; rootTree: string } {
  const children = new Map<string, GitTreeItem[]>([['', []]]);
  const ensureDir = (dir: string) => {
    if (children.has(dir)) return;
    children.set(dir, []);
    const slash = dir.lastIndexOf('/');
    ensureDir(slash < 0 ? '' : dir.slice(0, slash));
  };
  for (const path of files.keys()) {
    const slash = path.lastIndexOf('/');
    ensureDir(slash < 0 ? '' : path.slice(0, slash));
  }
  for (const [path, entry] of files) {
    const slash = path.lastIndexOf('/');
    children.get(slash < 0 ? '' : path.slice(0, slash))!.push({ name: path.slice(slash + 1), kind: 'blob', sha1: entry.oid });
  }
  // Deepest directories first, so a parent sees its children's oids.
  const order = [...children.keys()].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
  const dirs = new Map<string, DirEntry>();
  let rootTree = '';
  for (const dir of order) {
    if (dir === '') continue;
    const oid = gitTreeSha1(children.get(dir)!);
    dirs.set(dir, { path: dir, oid });
    const slash = dir.lastIndexOf('/');
    children.get(slash < 0 ? '' : dir.slice(0, slash))!.push({ name: dir.slice(slash + 1), kind: 'tree', sha1: oid });
  }
  rootTree = gitTreeSha1(children.get('')!);
  return { dirs, rootTree };
}

function buildSnapshot(repo: FakeRepo, branch: string, files: RepoFiles, lazy: Record<string, LazyFile>): Snapshot {
  const declared = repo.declaredSizes ?? {};
  const entries = new Map<string, FileEntry>();
  for (const [path, bytes] of Object.entries(files)) {
    if (!(path in lazy)) entries.set(path, bytesEntry(path, bytes, declared[path]));
  }
  for (const [path, file] of Object.entries(lazy)) entries.set(path, lazyEntry(path, file, declared[path]));
  const { dirs, rootTree } = buildDirs(entries);
  const extras = (repo.extraTreeEntries ?? []).map((e) => ({
    path: e.path,
    size: e.size,
    oid: createHash('sha1').update(`phantom ${e.path}`).digest('hex'),
  }));
  return { repoId: repo.id, branch, commit: gitCommitSha1(rootTree), files: entries, dirs, extras };
}

export function buildRepoModel(repo: FakeRepo): RepoModel {
  if (!repo.id || repo.id.startsWith('/') || repo.id.endsWith('/')) throw new Error(`fake hub: bad repo id '${repo.id}'`);
  for (const token of repo.grantedTokens ?? []) {
    if (!token.startsWith('hf_')) throw new Error(`fake hub: granted tokens must start with hf_ (repo ${repo.id})`);
  }
  const main = buildSnapshot(repo, 'main', repo.files, repo.lazyFiles ?? {});
  const branches = new Map<string, Snapshot>([['main', main]]);
  for (const [name, files] of Object.entries(repo.branches ?? {})) {
    if (name !== 'main') branches.set(name, buildSnapshot(repo, name, files, {}));
  }
  const objectId = createHash('sha1').update(`repo ${repo.id}`).digest('hex').slice(0, 24);
  return { repo, id: repo.id, objectId, main, branches };
}

/** 'HEAD' and 'main' give main; a branch name gives that branch; a 40-hex commit of any branch gives it. */
export function resolveRevision(model: RepoModel, revision: string): Snapshot | undefined {
  if (revision === 'HEAD') return model.main;
  const branch = model.branches.get(revision);
  if (branch) return branch;
  if (/^[0-9a-f]{40}$/.test(revision)) {
    for (const snap of model.branches.values()) if (snap.commit === revision) return snap;
  }
  return undefined;
}
