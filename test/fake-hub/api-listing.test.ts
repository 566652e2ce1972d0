/**
 * Model info, tree and paths-info details the clients rely on, seen with plain fetch: expand filtering, blobs,
 * absolute Link pagination, both path encodings, form bodies, revisions, phantom entries and lying sizes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBlobSha1, sha256Hex } from './git-hash.js';
import { handMadeFiles, handMadeRepo } from './hand-made-repo.js';
import { startFakeHub } from './server.js';
import type { FakeHub } from './types.js';

const REPO = 'test-org/hand-made';
const HOSTILE = 'test-org/hostile';
const files = handMadeFiles();
const devFiles = { 'config.json': new TextEncoder().encode('{"model_type":"dev"}') };
let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({ treePageSize: 4, repos: [handMadeRepo(REPO, { branches: { dev: devFiles } })] });
  hub.addRepo({
    id: HOSTILE,
    files: { 'model.safetensors': files['model.safetensors'], 'config.json': files['config.json'] },
    declaredSizes: { 'model.safetensors': 10 * 1024 ** 5 },
    extraTreeEntries: [
      { path: '../escape.json', size: 10 },
      { path: 'sub/../../x', size: 1 },
      { path: '/abs', size: 1 },
      { path: 'a\\b', size: 1 },
    ],
  });
});
afterAll(() => hub.close());

const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${hub.url}${path}`, init);
  expect(res.status, path).toBe(200);
  return { body: (await res.json()) as any, headers: res.headers };
};

/** Every entry of a tree listing, following Link pages. */
async function allPages(path: string): Promise<any[]> {
  const out: any[] = [];
  let next: string | undefined = `${hub.url}${path}`;
  while (next) {
    const res: Response = await fetch(next);
    expect(res.status).toBe(200);
    out.push(...((await res.json()) as any[]));
    const link = res.headers.get('link');
    next = link ? /<([^>]+)>/.exec(link)![1] : undefined;
  }
  return out;
}

describe('model info', () => {
  it('without expand returns every field', async () => {
    const { body } = await json(`/api/models/${REPO}`);
    for (const key of ['_id', 'id', 'sha', 'private', 'gated', 'disabled', 'lastModified', 'createdAt', 'downloads', 'likes',
      'pipeline_tag', 'library_name', 'tags', 'cardData', 'config', 'siblings', 'safetensors', 'transformersInfo', 'usedStorage']) {
      expect(body, key).toHaveProperty(key);
    }
    expect(body.config.tokenizer_config).toEqual({ eos_token: '<|endoftext|>', chat_template: '{{ messages }}' });
    expect(body.siblings[0]).toEqual({ rfilename: expect.any(String) }); // no blobs=true: names only
    expect(body.tags).toContain('conversational');
  });

  it('expand and expand[] return _id, id and the listed keys only', async () => {
    const { body } = await json(`/api/models/${REPO}?expand=sha&expand=gated`);
    expect(Object.keys(body).sort()).toEqual(['_id', 'gated', 'id', 'sha']);
    const likes = await json(`/api/models/${REPO}?expand[]=likes`);
    expect(Object.keys(likes.body).sort()).toEqual(['_id', 'id', 'likes']);
  });

  it('blobs=true adds size, blobId and lfs {sha256, size, pointerSize} to siblings', async () => {
    const { body } = await json(`/api/models/${REPO}/revision/main?expand=siblings&blobs=true`);
    const st = body.siblings.find((s: any) => s.rfilename === 'model.safetensors');
    expect(st.lfs).toEqual({ sha256: sha256Hex(files['model.safetensors']), size: files['model.safetensors'].byteLength, pointerSize: expect.any(Number) });
    const cfg = body.siblings.find((s: any) => s.rfilename === 'config.json');
    expect(cfg).toEqual({ rfilename: 'config.json', size: files['config.json'].byteLength, blobId: gitBlobSha1(files['config.json']) });
  });

  it('HEAD, main, a branch name and a branch commit resolve; the branch has its own sha', async () => {
    const main = hub.commitOf(REPO);
    const dev = hub.commitOf(REPO, 'dev');
    expect(dev).not.toBe(main);
    expect(hub.commitOf(REPO, 'HEAD')).toBe(main);
    expect((await json(`/api/models/${REPO}/revision/HEAD?expand=sha`)).body.sha).toBe(main);
    expect((await json(`/api/models/${REPO}/revision/dev?expand=sha`)).body.sha).toBe(dev);
    expect((await json(`/api/models/${REPO}/revision/${dev}?expand=config`)).body.config).toEqual({ model_type: 'dev' });
    const res = await fetch(`${hub.url}/${REPO}/resolve/${dev}/config.json`);
    expect(res.headers.get('x-repo-commit')).toBe(dev);
    expect(await res.text()).toBe('{"model_type":"dev"}');
    expect(() => hub.commitOf(REPO, 'nope')).toThrow(/nope/);
  });

  it('a revision with slashes arrives encoded (refs%2Fpr%2F1) and resolves as one branch', async () => {
    hub.addRepo(handMadeRepo('test-org/pr', { branches: { 'refs/pr/1': devFiles } }));
    const pr = hub.commitOf('test-org/pr', 'refs/pr/1');
    expect((await json(`/api/models/test-org/pr/revision/${encodeURIComponent('refs/pr/1')}?expand=sha`)).body.sha).toBe(pr);
    const res = await fetch(`${hub.url}/test-org/pr/resolve/refs%2Fpr%2F1/config.json`);
    expect(res.headers.get('x-repo-commit')).toBe(pr);
    expect(res.headers.get('x-request-id')).toMatch(/^fake-hub-\d+$/);
    expect(await res.text()).toBe('{"model_type":"dev"}');
    expect((await json(`/api/models/test-org/pr/tree/refs%2Fpr%2F1`)).body.map((e: any) => e.path)).toEqual(['config.json']);
  });

  it('the commit depends on content only', async () => {
    hub.addRepo(handMadeRepo('test-org/copy'));
    expect(hub.commitOf('test-org/copy')).toBe(hub.commitOf(REPO));
    hub.addRepo({ id: 'test-org/copy', files: { ...files, 'extra.txt': new Uint8Array([1]) } });
    expect(hub.commitOf('test-org/copy')).not.toBe(hub.commitOf(REPO));
  });
});

describe('tree', () => {
  it('paginates with an absolute Link rel="next" that the next page accepts', async () => {
    let next: string | undefined = `${hub.url}/api/models/${REPO}/tree/main?recursive=true&expand=false`;
    const all: any[] = [];
    let pages = 0;
    while (next) {
      const res: Response = await fetch(next);
      all.push(...((await res.json()) as any[]));
      pages++;
      const link = res.headers.get('link');
      if (link) expect(link).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/api\/models\/test-org\/hand-made\/tree\/main\?recursive=true&expand=false&cursor=[^>]+>; rel="next"$/);
      next = link ? /<([^>]+)>/.exec(link)![1] : undefined;
    }
    expect(pages).toBe(3); // 9 files + 2 directories, 4 per page
    expect(all.map((e) => e.path)).toEqual([...new Set(all.map((e) => e.path))]);
    expect(all).toHaveLength(11);
  });

  it('accepts the Python form of a sub-path (sub%2Fdir) and the JS form (sub/dir)', async () => {
    const py = await json(`/api/models/${REPO}/tree/main/sub%2Fdir?recursive=false&expand=false`);
    const js = await json(`/api/models/${REPO}/tree/main/sub/dir?recursive=false&expand=false`);
    expect(py.body).toEqual(js.body);
    expect(js.body.map((e: any) => e.path)).toEqual(['sub/dir/notes.txt']);
  });

  it('expand=true adds lastCommit and securityFileStatus; no xetHash ever', async () => {
    const body = await allPages(`/api/models/${REPO}/tree/main?recursive=false&expand=true`);
    expect(body).toHaveLength(8); // 7 root files and the 'sub' directory
    for (const e of body) {
      expect(e.lastCommit).toEqual({ id: hub.commitOf(REPO), title: expect.any(String), date: expect.any(String) });
      expect(e).not.toHaveProperty('xetHash');
    }
    expect(body.find((e: any) => e.path === 'sub')).toMatchObject({ type: 'directory', size: 0, oid: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it('a missing folder is 404 EntryNotFound', async () => {
    const res = await fetch(`${hub.url}/api/models/${REPO}/tree/main/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-error-code')).toBe('EntryNotFound');
  });
});

describe('paths-info', () => {
  it('accepts a form body as Python sends it', async () => {
    const { body } = await json(`/api/models/${REPO}/paths-info/main`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'paths=config.json&paths=sub%2Fdir&paths=missing&expand=false',
    });
    expect(body.map((e: any) => [e.path, e.type])).toEqual([
      ['config.json', 'file'],
      ['sub/dir', 'directory'],
    ]);
    expect(body[0]).not.toHaveProperty('lastCommit');
  });

  it('rejects a malformed JSON body with 400', async () => {
    const res = await fetch(`${hub.url}/api/models/${REPO}/paths-info/main`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(res.status).toBe(400);
  });
});

describe('hostile repo', () => {
  it('lists phantom entries verbatim and lies about the declared size; served bytes stay real', async () => {
    const body = await allPages(`/api/models/${HOSTILE}/tree/main?recursive=true&expand=false`);
    expect(body.map((e: any) => e.path).sort()).toEqual(['../escape.json', '/abs', 'a\\b', 'config.json', 'model.safetensors', 'sub/../../x'].sort());
    const weights = body.find((e: any) => e.path === 'model.safetensors');
    expect(weights.size).toBe(10 * 1024 ** 5);
    expect(weights.lfs.size).toBe(10 * 1024 ** 5);
    const info = await json(`/api/models/${HOSTILE}/paths-info/main`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['../escape.json', 'model.safetensors'] }) });
    expect(info.body.map((e: any) => [e.path, e.size])).toEqual([
      ['../escape.json', 10],
      ['model.safetensors', 10 * 1024 ** 5],
    ]);
    const res = await fetch(`${hub.url}/${HOSTILE}/resolve/main/model.safetensors`, { headers: { Range: 'bytes=0-0' } });
    expect(res.headers.get('content-range')).toBe(`bytes 0-0/${files['model.safetensors'].byteLength}`);
    await res.arrayBuffer();
    const siblings = (await json(`/api/models/${HOSTILE}?expand=siblings`)).body.siblings.map((s: any) => s.rfilename);
    expect(siblings).toContain('../escape.json');
  });
});
