import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handMadeFiles } from './hand-made-repo.js';
import { FAKE_COMMIT_DATE, FAKE_COMMIT_TITLE, gitBlobSha1, lfsPointer, sha256Hex } from './git-hash.js';
import { buildRepoModel } from './repo-model.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('git object ids', () => {
  it('match git hash-object for blobs, including the empty blob', () => {
    expect(gitBlobSha1(new Uint8Array(0))).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobSha1(new TextEncoder().encode('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('builds LFS pointers of the documented size (134 bytes for bert pytorch_model.bin)', () => {
    expect(lfsPointer('a'.repeat(64), 440473133).byteLength).toBe(134);
    expect(lfsPointer('a'.repeat(64), 5).toString()).toBe(`version https://git-lfs.github.com/spec/v1\noid sha256:${'a'.repeat(64)}\nsize 5\n`);
  });

  it('gives the same file, directory and root tree oids as real git (LFS files stored as pointers)', () => {
    const files = handMadeFiles(3);
    const model = buildRepoModel({ id: 'o/r', files });
    const dir = mkdtempSync(join(tmpdir(), 'fake-hub-git-'));
    dirs.push(dir);
    git(dir, 'init', '-q');
    for (const [path, bytes] of Object.entries(files)) {
      const entry = model.main.files.get(path)!;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      // git stores what LFS would commit: the pointer for LFS files, the content otherwise.
      writeFileSync(join(dir, path), entry.pointer ?? bytes);
      expect(git(dir, 'hash-object', path)).toBe(entry.oid);
      if (entry.lfs) expect(entry.lfs.oid).toBe(sha256Hex(bytes));
    }
    expect([...model.main.files.values()].filter((f) => f.lfs).map((f) => f.path).sort()).toEqual([
      'big.dat',
      'model.safetensors',
      'tokenizer.json',
    ]);
    git(dir, 'add', '-A');
    const rootTree = git(dir, 'write-tree');
    for (const sub of ['sub', 'sub/dir']) {
      expect(git(dir, 'rev-parse', `${rootTree}:${sub}`)).toBe(model.main.dirs.get(sub)!.oid);
    }
    // The commit is a real commit object over that root tree: git commit-tree with the same identity and date agrees.
    const when = `@${Date.parse(FAKE_COMMIT_DATE) / 1000} +0000`;
    const who = { NAME: 'fake-hub', EMAIL: 'fake-hub@example.invalid', DATE: when };
    const env = { ...process.env, ...Object.fromEntries(['AUTHOR', 'COMMITTER'].flatMap((r) => Object.entries(who).map(([k, v]) => [`GIT_${r}_${k}`, v]))) };
    const commit = execFileSync('git', ['commit-tree', rootTree, '-m', FAKE_COMMIT_TITLE], { cwd: dir, env, encoding: 'utf8' }).trim();
    expect(model.main.commit).toBe(commit);
  });
});
