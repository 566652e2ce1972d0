import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartialFile } from './partial-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'partial-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const KEY = 'a'.repeat(64);

describe('PartialFile', () => {
  it('one owner at a time: a second open of the same partial waits for the first to let go, then resumes its bytes', async () => {
    const first = await PartialFile.open(dir, KEY, 10);
    let secondOpened = false;
    const second = PartialFile.open(dir, KEY, 10).then((p) => {
      secondOpened = true;
      return p;
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(secondOpened).toBe(false);
    await first.write(Buffer.from('abc'), 0);
    await first.close();
    const p = await second;
    expect(p.resumedBytes).toBe(3);
    await p.discard();
    const aborted = new AbortController();
    const holder = await PartialFile.open(dir, KEY, 10);
    const waiting = PartialFile.open(dir, KEY, 10, aborted.signal);
    aborted.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    await holder.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('records done ranges atomically and resumes them; completes by rename', async () => {
    const p = await PartialFile.open(dir, KEY, 10);
    await p.write(Buffer.from('cdef'), 2);
    await p.close();
    expect(JSON.parse(await readFile(path.join(dir, `${KEY}.json`), 'utf8'))).toEqual({ version: 1, size: 10, done: [[2, 6]] });
    const again = await PartialFile.open(dir, KEY, 10);
    expect(again.resumedBytes).toBe(4);
    await again.write(Buffer.from('ab'), 0);
    await again.write(Buffer.from('ghij'), 6);
    await again.complete(path.join(dir, 'out', 'model.bin'));
    expect(await readFile(path.join(dir, 'out', 'model.bin'), 'utf8')).toBe('abcdefghij');
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('starts over when the record is missing, torn, for another size, or claims more than the file holds', async () => {
    for (const record of [undefined, '{"version":1,"size":10,"done":[[0,', '{"version":1,"size":11,"done":[[0,4]]}', '{"version":1,"size":10,"done":[[0,9]]}']) {
      await writeFile(path.join(dir, `${KEY}.part`), 'abcd');
      if (record !== undefined) await writeFile(path.join(dir, `${KEY}.json`), record);
      else await rm(path.join(dir, `${KEY}.json`), { force: true });
      const p = await PartialFile.open(dir, KEY, 10);
      expect(p.resumedBytes, String(record)).toBe(0);
      await p.discard();
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
