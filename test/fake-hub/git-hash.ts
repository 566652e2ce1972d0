/**
 * Git and Git-LFS object ids, computed exactly as git does, so the fake hub's oids can be checked with real git.
 */
import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `git hash-object` of a blob. */
export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** The pointer file git-lfs commits in place of the content; its length is the tree's `lfs.pointerSize`. */
export function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

export interface GitTreeItem {
  name: string;
  kind: 'blob' | 'tree';
  sha1: string;
}

/** `git write-tree` of one directory level: entries sorted as git sorts them (a tree's name compares as name + '/'). */
export function gitTreeSha1(items: GitTreeItem[]): string {
  const key = (i: GitTreeItem) => Buffer.from(i.kind === 'tree' ? `${i.name}/` : i.name);
  const sorted = [...items].sort((a, b) => Buffer.compare(key(a), key(b)));
  const parts: Buffer[] = [];
  for (const item of sorted) {
    parts.push(Buffer.from(`${item.kind === 'tree' ? '40000' : '100644'} ${item.name}\0`));
    parts.push(Buffer.from(item.sha1, 'hex'));
  }
  const body = Buffer.concat(parts);
  return createHash('sha1').update(`tree ${body.byteLength}\0`).update(body).digest('hex');
}

export const FAKE_COMMIT_DATE = '2024-06-01T12:00:00.000Z';
const FAKE_COMMIT_EPOCH = Date.parse(FAKE_COMMIT_DATE) / 1000;
export const FAKE_COMMIT_TITLE = 'Upload folder using huggingface_hub';

/** A root commit with fixed author and date, so the same content always gives the same 40-hex sha. */
export function gitCommitSha1(treeSha1: string): string {
  const who = `fake-hub <fake-hub@example.invalid> ${FAKE_COMMIT_EPOCH} +0000`;
  const body = `tree ${treeSha1}\nauthor ${who}\ncommitter ${who}\n\n${FAKE_COMMIT_TITLE}\n`;
  return createHash('sha1').update(`commit ${Buffer.byteLength(body)}\0`).update(body).digest('hex');
}
