import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BlobStore } from './blob-store.js';
import { tempDir } from '../../test/support/temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytes = Buffer.from('the same bytes, stored once\n');

it('commits a verified file once, links it into folders, and gc frees only what nothing uses', async () => {
  const store = await BlobStore.open(dir);
  const file = path.join(dir, 'downloaded');
  await fs.writeFile(file, bytes);
  await store.commit(file, sha(bytes), 'a'.repeat(40));
  expect(await store.has(sha(bytes), bytes.byteLength)).toBe(true);
  expect(await store.has(sha(bytes), 1)).toBe(false);
  expect(await store.sha256OfGitOid('a'.repeat(40))).toBe(sha(bytes));
  // The same bytes again: the second file is dropped, the blob stays.
  await fs.writeFile(file, bytes);
  await store.commit(file, sha(bytes));
  await expect(fs.stat(file)).rejects.toThrow();

  const dest = path.join(dir, 'model', 'sub', 'weights');
  expect(await store.linkInto(sha(bytes), dest)).toBe('linked');
  expect((await fs.stat(dest)).ino).toBe((await fs.stat(store.blobPath(sha(bytes)))).ino);
  expect(await store.gc(new Set())).toEqual({ removed: [], bytesFreed: 0 }); // linked by a model folder
  await fs.rm(dest);
  expect(await store.gc(new Set([sha(bytes)]))).toEqual({ removed: [], bytesFreed: 0 }); // a registered model lists it
  expect(await store.gc(new Set())).toEqual({ removed: [sha(bytes)], bytesFreed: bytes.byteLength });
  expect(await store.has(sha(bytes))).toBe(false);
  expect(await store.sha256OfGitOid('a'.repeat(40))).toBeUndefined();
  expect(await fs.readdir(path.join(store.root, 'git-sha1'))).toEqual([]);
  expect(await store.linkInto(sha(bytes), dest)).toBeUndefined();
});

it('adopts an outside file only if it hashes right, never changing it', async () => {
  const store = await BlobStore.open(path.join(dir, 'models'));
  const outside = path.join(dir, 'hf-blob');
  await fs.writeFile(outside, bytes);
  const wrong = Buffer.from(bytes);
  wrong[0] ^= 1;
  const bad = path.join(dir, 'hf-bad');
  await fs.writeFile(bad, wrong);
  expect(await store.adopt(bad, sha(bytes), bytes.byteLength)).toBe(false);
  expect(await store.has(sha(bytes))).toBe(false);
  expect(await fs.readFile(bad)).toEqual(wrong);
  const before = await fs.stat(outside);
  expect(await store.adopt(outside, sha(bytes), bytes.byteLength)).toBe(true);
  expect(await fs.readFile(store.blobPath(sha(bytes)))).toEqual(bytes);
  expect((await fs.stat(outside)).mode).toBe(before.mode);
  expect(await fs.readdir(path.join(store.root, 'tmp'))).toEqual([]);
  expect(await store.verify()).toEqual({ checked: 1, bytes: bytes.byteLength, bad: [] });
});

it('never follows symlinks: a planted blob link is not a blob, and a symlinked store folder is refused', async () => {
  const store = await BlobStore.open(path.join(dir, 'models'));
  const secret = path.join(dir, 'secret');
  await fs.writeFile(secret, bytes);
  await fs.symlink(secret, store.blobPath(sha(bytes)));
  expect(await store.has(sha(bytes))).toBe(false);
  expect(await store.linkInto(sha(bytes), path.join(dir, 'out'))).toBeUndefined();
  const snapshotLink = path.join(dir, 'snapshot-link');
  await fs.symlink(secret, snapshotLink);
  expect(await store.adopt(snapshotLink, sha(bytes), bytes.byteLength)).toBe(false); // pass the blob, not the link
  expect(await store.gc(new Set())).toEqual({ removed: [], bytesFreed: 0 });
  expect(await fs.readFile(secret)).toEqual(bytes); // still there: gc deletes only regular files it named
  expect(() => store.blobPath('../x')).toThrow();

  const other = path.join(dir, 'elsewhere');
  await fs.mkdir(other);
  await fs.mkdir(path.join(dir, 'models2'));
  await fs.symlink(other, path.join(dir, 'models2', '.blobs'));
  await expect(BlobStore.open(path.join(dir, 'models2'))).rejects.toThrow(/symlink/);
  expect(await fs.readdir(other)).toEqual([]);
});

it('a blob changed through a model folder link is not trusted again: re-hashed, dropped from the store', async () => {
  const store = await BlobStore.open(dir);
  const file = path.join(dir, 'downloaded');
  await fs.writeFile(file, bytes);
  await store.commit(file, sha(bytes));
  expect(await store.trusted(sha(bytes), bytes.byteLength)).toBe(true);
  const model = path.join(dir, 'model', 'weights');
  await store.linkInto(sha(bytes), model);
  const flipped = Buffer.from(bytes);
  flipped[3] ^= 1;
  await fs.chmod(model, 0o644); // what a user (or root, whom 0444 does not stop) could do
  await fs.writeFile(model, flipped);
  expect(await store.trusted(sha(bytes), bytes.byteLength)).toBe(false);
  expect(await store.has(sha(bytes))).toBe(false);
  expect(await fs.readFile(model)).toEqual(flipped); // the model's own file is left for verify to report
  // Unsealed but right (e.g. adopted by a link from the HF cache): trusted after hashing.
  const again = path.join(dir, 'again');
  await fs.writeFile(again, bytes);
  await store.commit(again, sha(bytes));
  await fs.utimes(store.blobPath(sha(bytes)), new Date(), new Date());
  expect(await store.trusted(sha(bytes), bytes.byteLength)).toBe(true);
});
