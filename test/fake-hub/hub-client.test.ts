/**
 * Conformance checked with the real client: @huggingface/hub 2.17.5 must work against the fake hub unchanged.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkRepoAccess,
  downloadFile,
  fileDownloadInfo,
  fileExists,
  HubApiError,
  listFiles,
  modelInfo,
  parseSafetensorsMetadata,
  pathsInfo,
  repoExists,
  snapshotDownload,
  whoAmI,
} from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gitBlobSha1, sha256Hex } from './git-hash.js';
import { HAND_MADE_PARAMS, handMadeFiles, handMadeRepo } from './hand-made-repo.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const REPO = 'test-org/hand-made';
const GATED = 'test-org/gated';
const PRIVATE = 'test-org/private';
const GRANTED = 'hf_granted_token_123456';
const files = handMadeFiles();
let hub: FakeHub;
const tmp: string[] = [];

beforeAll(async () => {
  hub = await startFakeHub({
    treePageSize: 3,
    repos: [
      handMadeRepo(REPO),
      handMadeRepo(GATED, { gated: 'manual', grantedTokens: [GRANTED] }),
      handMadeRepo(PRIVATE, { private: true, grantedTokens: [GRANTED] }),
    ],
  });
});
afterAll(async () => {
  await hub.close();
  tmp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function streamBytes(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('@huggingface/hub against the fake hub', () => {
  it('modelInfo with additionalFields (revision HEAD, expand params, sha, config, safetensors, license tag)', async () => {
    const info = await modelInfo({
      name: REPO,
      hubUrl: hub.url,
      additionalFields: ['sha', 'cardData', 'config', 'safetensors', 'tags', 'library_name', 'filePaths', 'createdAt'],
    });
    expect(info.name).toBe(REPO);
    expect(info.id).toMatch(/^[0-9a-f]{24}$/);
    expect(info.sha).toBe(hub.commitOf(REPO));
    expect(info.gated).toBe(false);
    expect(info.private).toBe(false);
    expect(info.task).toBe('text-generation');
    expect(info.updatedAt).toBeInstanceOf(Date);
    expect(info.library_name).toBe('transformers');
    expect(info.cardData).toEqual({ license: 'apache-2.0' });
    expect(info.config).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' });
    expect(info.tags).toEqual(expect.arrayContaining(['transformers', 'safetensors', 'qwen2', 'license:apache-2.0', 'en']));
    expect(info.safetensors).toEqual({ parameters: { F32: HAND_MADE_PARAMS }, total: HAND_MADE_PARAMS });
    expect([...info.filePaths].sort()).toEqual(Object.keys(files).sort());
    const req = hub.requests.findLast((r) => r.path.includes('/revision/'))!;
    expect(req.path).toBe(`/api/models/${REPO}/revision/HEAD`);
    expect(req.query.getAll('expand')).toEqual(expect.arrayContaining(['pipeline_tag', 'sha', 'siblings']));
  });

  it('modelInfo at a branch and at a 40-hex commit; unknown revision is a HubApiError 404', async () => {
    const sha = hub.commitOf(REPO);
    expect((await modelInfo({ name: REPO, hubUrl: hub.url, revision: sha, additionalFields: ['sha'] })).sha).toBe(sha);
    const err = await modelInfo({ name: REPO, hubUrl: hub.url, revision: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubApiError);
    expect((err as HubApiError).statusCode).toBe(404);
  });

  it('listFiles follows every Link page and returns git oids and LFS info', async () => {
    const before = hub.requests.length;
    const entries = [];
    for await (const e of listFiles({ repo: REPO, hubUrl: hub.url, recursive: true })) entries.push(e);
    const pages = hub.requests.slice(before).filter((r) => r.path.includes('/tree/'));
    expect(pages.length).toBe(Math.ceil(entries.length / 3));
    expect(entries.filter((e) => e.type === 'directory').map((e) => e.path)).toEqual(['sub', 'sub/dir']);
    const fileEntries = entries.filter((e) => e.type === 'file');
    expect(fileEntries.map((e) => e.path).sort()).toEqual(Object.keys(files).sort());
    for (const e of fileEntries) {
      const bytes = files[e.path];
      expect(e.size).toBe(bytes.byteLength);
      expect(e.xetHash).toBeUndefined();
      if (e.lfs) {
        expect(e.lfs).toEqual({ oid: sha256Hex(bytes), size: bytes.byteLength, pointerSize: expect.any(Number) });
      } else {
        expect(e.oid).toBe(gitBlobSha1(bytes));
      }
    }
    expect(fileEntries.filter((e) => e.lfs).map((e) => e.path).sort()).toEqual(['big.dat', 'model.safetensors', 'tokenizer.json']);
  });

  it('listFiles of a sub-folder, non-recursive', async () => {
    const entries = [];
    for await (const e of listFiles({ repo: REPO, hubUrl: hub.url, path: 'sub' })) entries.push(e);
    expect(entries.map((e) => [e.type, e.path])).toEqual([
      ['directory', 'sub/dir'],
      ['file', 'sub/other.txt'],
    ]);
  });

  it('fileDownloadInfo gives size and the etag that names cache blobs (sha256 for LFS, git sha1 otherwise)', async () => {
    const lfs = await fileDownloadInfo({ repo: REPO, path: 'model.safetensors', hubUrl: hub.url });
    expect(lfs).toMatchObject({ size: files['model.safetensors'].byteLength, etag: `"${sha256Hex(files['model.safetensors'])}"` });
    expect(lfs?.xet).toBeUndefined();
    const plain = await fileDownloadInfo({ repo: REPO, path: 'config.json', hubUrl: hub.url });
    expect(plain).toMatchObject({ size: files['config.json'].byteLength, etag: `"${gitBlobSha1(files['config.json'])}"` });
    const empty = await fileDownloadInfo({ repo: REPO, path: 'empty.txt', hubUrl: hub.url });
    expect(empty).toMatchObject({ size: 0, etag: `"${gitBlobSha1(new Uint8Array(0))}"` });
    expect(await fileDownloadInfo({ repo: REPO, path: 'missing.bin', hubUrl: hub.url })).toBeNull();
  });

  it('downloadFile().stream() delivers the exact bytes (sha256 equal) for LFS, plain, nested and empty files', async () => {
    for (const path of ['model.safetensors', 'big.dat', 'tokenizer.json', 'config.json', 'sub/dir/notes.txt', 'empty.txt']) {
      const blob = await downloadFile({ repo: REPO, path, hubUrl: hub.url });
      expect(blob, path).not.toBeNull();
      const bytes = await streamBytes(blob!.stream());
      expect(sha256Hex(bytes), path).toBe(sha256Hex(files[path]));
    }
    const blob = await downloadFile({ repo: REPO, path: 'big.dat', hubUrl: hub.url });
    const slice = Buffer.from(await blob!.slice(1000, 1010).arrayBuffer());
    expect(slice.equals(Buffer.from(files['big.dat'].subarray(1000, 1010)))).toBe(true);
    expect(hub.requests.at(-1)!.range).toBe('bytes=1000-1009');
  });

  it('pathsInfo returns existing paths with lastCommit at the revision commit', async () => {
    const infos = await pathsInfo({ repo: REPO, paths: ['config.json', 'model.safetensors', 'sub', 'nope'], expand: true, hubUrl: hub.url });
    expect(infos.map((i) => [i.path, i.type])).toEqual([
      ['config.json', 'file'],
      ['model.safetensors', 'file'],
      ['sub', 'directory'],
    ]);
    expect(infos[0].lastCommit.id).toBe(hub.commitOf(REPO));
    expect(infos[1].lfs?.oid).toBe(sha256Hex(files['model.safetensors']));
    expect(infos[0].oid).toBe(gitBlobSha1(files['config.json']));
  });

  it('parseSafetensorsMetadata (HEAD /raw, ranged header reads) counts parameters', async () => {
    const meta = await parseSafetensorsMetadata({ repo: REPO, hubUrl: hub.url, computeParametersCount: true });
    expect(meta.sharded).toBe(false);
    expect(meta.parameterCount).toEqual({ F32: HAND_MADE_PARAMS });
  });

  it('fileExists, repoExists and checkRepoAccess', async () => {
    expect(await fileExists({ repo: REPO, path: 'config.json', hubUrl: hub.url })).toBe(true);
    expect(await fileExists({ repo: REPO, path: 'nope.json', hubUrl: hub.url })).toBe(false);
    expect(await repoExists({ repo: REPO, hubUrl: hub.url })).toBe(true);
    expect(await repoExists({ repo: 'test-org/missing', hubUrl: hub.url })).toBe(false);
    expect(await repoExists({ repo: PRIVATE, hubUrl: hub.url })).toBe(false);
    expect(await repoExists({ repo: PRIVATE, hubUrl: hub.url, accessToken: GRANTED })).toBe(true);
    await expect(checkRepoAccess({ repo: REPO, hubUrl: hub.url })).resolves.toBeUndefined();
    // A gate is invisible to checkRepoAccess (reference §4.3): metadata stays public.
    await expect(checkRepoAccess({ repo: GATED, hubUrl: hub.url })).resolves.toBeUndefined();
    const anon = await checkRepoAccess({ repo: PRIVATE, hubUrl: hub.url }).catch((e: unknown) => e);
    expect((anon as HubApiError).statusCode).toBe(401);
    const other = await checkRepoAccess({ repo: PRIVATE, hubUrl: hub.url, accessToken: 'hf_someone_else' }).catch((e: unknown) => e);
    expect((other as HubApiError).statusCode).toBe(404);
    await expect(checkRepoAccess({ repo: PRIVATE, hubUrl: hub.url, accessToken: GRANTED })).resolves.toBeUndefined();
  });

  it('gated content: downloadFile throws 401 without a token, 403 when not granted, works when granted', async () => {
    const anon = await downloadFile({ repo: GATED, path: 'config.json', hubUrl: hub.url }).catch((e: unknown) => e);
    expect(anon).toBeInstanceOf(HubApiError);
    expect((anon as HubApiError).statusCode).toBe(401);
    expect((anon as HubApiError).message).toContain('restricted');
    const denied = await downloadFile({ repo: GATED, path: 'config.json', hubUrl: hub.url, accessToken: 'hf_denied_123' }).catch((e: unknown) => e);
    expect((denied as HubApiError).statusCode).toBe(403);
    const blob = await downloadFile({ repo: GATED, path: 'config.json', hubUrl: hub.url, accessToken: GRANTED });
    expect(Buffer.from(await blob!.arrayBuffer()).equals(Buffer.from(files['config.json']))).toBe(true);
    expect(hub.requests.at(-1)!.authorization).toBe(`Bearer ${GRANTED}`);
  });

  it('whoAmI answers a user for a valid token', async () => {
    const me = await whoAmI({ hubUrl: hub.url, accessToken: 'hf_anything_valid' });
    expect(me).toMatchObject({ type: 'user', name: 'fake-user', auth: { type: 'access_token' } });
    expect(me.auth.accessToken?.createdAt).toBeInstanceOf(Date);
  });

  it('snapshotDownload builds an HF cache (refs/main, blobs named by etag, relative symlinks)', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'fake-hub-cache-'));
    tmp.push(cacheDir);
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined); // the client logs every file
    const snapshot = await snapshotDownload({ repo: REPO, hubUrl: hub.url, cacheDir }).finally(() => debug.mockRestore());
    const sha = hub.commitOf(REPO);
    expect(snapshot).toBe(join(cacheDir, 'models--test-org--hand-made', 'snapshots', sha));
    expect(readFileSync(join(cacheDir, 'models--test-org--hand-made', 'refs', 'main'), 'utf8')).toBe(sha);
    for (const [path, bytes] of Object.entries(files)) {
      expect(createHash('sha256').update(readFileSync(join(snapshot, path))).digest('hex'), path).toBe(sha256Hex(bytes));
    }
    expect(readlinkSync(join(snapshot, 'model.safetensors'))).toBe(`../../blobs/${sha256Hex(files['model.safetensors'])}`);
  });
});
