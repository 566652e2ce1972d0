/**
 * One case or more for each class of hostile input of issue 13, through the real CLI (child processes), each of
 * which failed before its fix: trusted local paths and links (1), waiting without a clock (2), unbounded input
 * (3), errors that were not ours (4), terminal injection (5), rate limits (7). Races (6) are lock-race.reliability.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QWEN2_TINY, standardRepos, startFakeHub, type FakeHub } from '../fake-hub/index.js';
import type { CliResult } from '../support/cli.js';
import { cleanFailureProblems, errorLine } from './import-checks.js';
import { diffSnapshots, snapshotTree } from './tree-snapshot.js';
import { makeProject, type TestProject } from './test-project.js';

const SETTINGS = { stallTimeoutMs: 500, retryBudgetMs: 1500, retryBaseDelayMs: 50, retryMaxDelayMs: 200 };
const KILL_AFTER_MS = 60_000;

let real: FakeHub;
let root: string;
let front: http.Server;
let frontUrl: string;
/** What the front server does for a path (undefined: pass to the real fake hub). */
let answer: (req: http.IncomingMessage, res: http.ServerResponse, url: string) => boolean = () => false;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mi-hostile-classes-'));
  real = await startFakeHub({ repos: standardRepos().filter((r) => r.id === QWEN2_TINY), treePageSize: 3 });
  front = http.createServer((req, res) => {
    if (answer(req, res, req.url ?? '')) return;
    void fetch(`${real.url}${req.url}`, { method: req.method, headers: req.headers.range ? { range: req.headers.range } : {}, redirect: 'manual' }).then(async (r) => {
      const body = Buffer.from(await r.arrayBuffer());
      const headers = Object.fromEntries([...r.headers].filter(([k]) => !['content-encoding', 'transfer-encoding', 'connection', 'content-length'].includes(k)));
      res.writeHead(r.status, { ...headers, 'content-length': body.length }).end(body);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  front?.closeAllConnections();
  await new Promise((resolve) => front?.close(resolve));
  await real?.close();
  await fs.rm(root, { recursive: true, force: true });
});

let n = 0;
async function project(): Promise<TestProject & { outside: string }> {
  const dir = path.join(root, `p${n++}`);
  const p = await makeProject(dir, frontUrl, SETTINGS);
  const outside = path.join(dir, 'outside');
  await fs.mkdir(path.join(outside, 'user-folder'), { recursive: true });
  await fs.writeFile(path.join(outside, 'user-folder', 'precious.txt'), 'keep me');
  await fs.writeFile(path.join(outside, 'precious.bin'), 'do not overwrite');
  return { ...p, outside };
}

async function run(p: TestProject, args: string[]): Promise<CliResult> {
  const { child, done } = p.spawn(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  const result = await done;
  clearTimeout(timer);
  return result;
}

const importArgs = ['import-model', QWEN2_TINY, '--yes', '--skip-validation', '--name', 'tiny'];

function expectClean(result: CliResult, codes: number[]): void {
  expect(result.signal, `still running after ${KILL_AFTER_MS / 1000} s`).toBeNull();
  expect(cleanFailureProblems(result)).toEqual([]);
  expect(codes, errorLine(result.stderr)).toContain(result.code);
}

describe('1: local state is not trusted', () => {
  it('remove refuses a registry entry whose path leaves the models folder', async () => {
    const p = await project();
    await fs.mkdir(p.models, { recursive: true });
    const entry = { model_name: 'victim', model_id: 'org/victim', path: '../outside/user-folder' };
    await fs.writeFile(path.join(p.models, 'registry.json'), JSON.stringify({ version: 1, models: { victim: entry } }));
    const before = await snapshotTree(p.outside);
    const result = await run(p, ['remove', 'victim', '--yes']);
    expectClean(result, [11]);
    expect(diffSnapshots(before, await snapshotTree(p.outside))).toEqual([]);
  });

  it('a .staging link to a user folder is not followed when cleaning abandoned staging', async () => {
    const p = await project();
    await fs.mkdir(p.models, { recursive: true });
    const fake = path.join(p.outside, 'user-folder', 'x.4198625.0123abcd');
    await fs.mkdir(fake);
    await fs.writeFile(path.join(fake, 'owner.json'), JSON.stringify({ pid: 4198625, host: os.hostname(), startedAt: '' }));
    await fs.symlink(path.join(p.outside, 'user-folder'), path.join(p.models, '.staging'));
    const before = await snapshotTree(p.outside);
    const result = await run(p, importArgs);
    expectClean(result, [12]);
    expect(diffSnapshots(before, await snapshotTree(p.outside))).toEqual([]);
  });

  it('a partial download that is a link is never written through', async () => {
    const p = await project();
    // Partials live in the blob store's partial folder (.blobs/partial), keyed by the file's hash.
    const partialDir = path.join(p.models, '.blobs', 'partial');
    await fs.mkdir(partialDir, { recursive: true });
    const tree = (await (await fetch(`${real.url}/api/models/${QWEN2_TINY}/tree/main?recursive=true`)).json()) as { oid: string; lfs?: { oid: string } }[];
    for (const e of tree) for (const key of [e.lfs?.oid, e.oid]) if (key) await fs.symlink(path.join(p.outside, 'precious.bin'), path.join(partialDir, `${key}.part`)).catch(() => undefined);
    const before = await snapshotTree(p.outside);
    const result = await run(p, importArgs);
    expectClean(result, [12]);
    expect(diffSnapshots(before, await snapshotTree(p.outside))).toEqual([]);
  });

  it('a models folder that is a file, or a dangling link, is a state error, not ENOTDIR', async () => {
    const p = await project();
    await fs.writeFile(p.models, 'a file');
    expectClean(await run(p, importArgs), [12]);
    const q = await project();
    await fs.symlink(path.join(q.dir, 'nowhere'), q.models);
    expectClean(await run(q, importArgs), [12]);
  });
});

describe('2, 3, 4, 7: hostile hubs', () => {
  it('a hub that accepts the request and never answers ends within the stall and retry limits (exit 8)', async () => {
    answer = (req) => req.url!.startsWith('/api/models/') && !req.url!.includes('/tree/'); // never answered
    const result = await run(await project(), importArgs);
    expectClean(result, [8]);
    expect(errorLine(result.stderr)).toMatch(/no answer/);
  });

  it('a Link rel=next that points back at itself ends the listing', async () => {
    answer = (req, res, url) => {
      if (!url.includes('/tree/')) return false;
      void fetch(`${real.url}${url}`).then(async (r) => {
        res.writeHead(200, { 'content-type': 'application/json', link: `<${frontUrl}${url}>; rel="next"` }).end(Buffer.from(await r.arrayBuffer()));
      });
      return true;
    };
    expectClean(await run(await project(), importArgs), [11]);
  });

  it('an API answer that inflates past the cap is refused, not a crash', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    answer = (req, res, url) => {
      if (!url.startsWith('/api/models/') || url.includes('/tree/')) return false;
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
      return true;
    };
    expectClean(await run(await project(), importArgs), [8]);
  });

  it.each([
    ['null model info', (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('null')],
    ['model info of the wrong shape', (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sha": 5, "cardData": [], "config": "x"}')],
    ['a redirect to file:', (res: http.ServerResponse) => res.writeHead(302, { location: 'file:///etc/passwd' }).end()],
    ['a redirect to ftp:', (res: http.ServerResponse) => res.writeHead(302, { location: 'ftp://127.0.0.1/x' }).end()],
    ['garbage headers', (res: http.ServerResponse) => res.socket!.end('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}')],
    ['an oversized header', (res: http.ServerResponse) => res.socket!.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`)],
  ])('%s from the hub is a typed error, not exit 1', async (_what, reply) => {
    answer = (req, res, url) => {
      if (!url.startsWith('/api/models/') || url.includes('/tree/')) return false;
      reply(res);
      return true;
    };
    expectClean(await run(await project(), importArgs), [8, 11]);
  });

  it('a token with non-Latin-1 characters is refused as a bad token (exit 4)', async () => {
    answer = () => false;
    expectClean(await run(await project(), [...importArgs, '--token', 'hf_ünïcødé']), [4]);
  });

  it('a rate limit longer than the retry budget stops at once, saying how long to wait (exit 8)', async () => {
    let hits = 0;
    answer = (req, res, url) => {
      if (!url.startsWith('/api/models/')) return false;
      hits++;
      res.writeHead(429, { ratelimit: '"api";r=0;t=150' }).end();
      return true;
    };
    const result = await run(await project(), importArgs);
    expectClean(result, [8]);
    expect(errorLine(result.stderr)).toContain('2 min 30 s');
    expect(hits).toBe(1);
  });

  it('a rate limit that ends within the budget is waited out with a visible line, then the import goes on', async () => {
    let limited = false;
    answer = (req, res, url) => {
      if (!url.startsWith('/api/models/') || limited) return false;
      limited = true;
      res.writeHead(429, { ratelimit: '"api";r=0;t=1' }).end();
      return true;
    };
    const result = await run(await project(), importArgs);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/rate limit is reached.*waiting/);
  });
});

describe('5: terminal injection', () => {
  it('escape and bidi characters from the hub never reach the terminal raw', async () => {
    answer = (req, res, url) => {
      if (!url.startsWith('/api/models/') || url.includes('/tree/')) return false;
      // Raw: Node's own server refuses to send such a header, a hostile one does not.
      // Raw: Node's own server refuses to send such a header, a hostile one does not. HTTP parsers refuse C0 in
      // header values but pass bytes 0x80-0xff: C1 controls (0x9b is CSI, an escape sequence on its own) and UTF-8.
      const evil = Buffer.concat([Buffer.from('evil \x9b31m red \x85 line ', 'latin1'), Buffer.from('\u202etxt.exe', 'utf8')]);
      res.socket!.end(Buffer.concat([Buffer.from('HTTP/1.1 404 Not Found\r\nX-Error-Code: RepoNotFound\r\nX-Error-Message: ', 'latin1'), evil, Buffer.from('\r\nContent-Length: 0\r\n\r\n', 'latin1')]));
      return true;
    };
    // --json: the hub's message is in the error's details (serverMessage), printed on stdout.
    const result = await run(await project(), [...importArgs, '--json']);
    expectClean(result, [5]);
    expect(JSON.parse(result.stdout).error.details.serverMessage).toContain('\x9b31m');
    expect(result.stdout + result.stderr).not.toMatch(/[\x1b\x07\x80-\x9f\u202e]/);
  });
});
