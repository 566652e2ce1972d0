import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { writeStoredZip } from '../../../test/fixtures/zip-writer.js';
import { ZipArchive } from './zip-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zip-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function put(bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, `z${n++}.bin`);
  await writeFile(file, bytes);
  return file;
}
const enc = (text: string) => new TextEncoder().encode(text);

async function refusal(bytes: Uint8Array): Promise<string> {
  const error = await ZipArchive.open(await put(bytes)).then(
    async (zip) => {
      await zip.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(isModelImportError(error) && error.code === 'BAD_INPUT', String(error)).toBe(true);
  return (error as Error).message;
}

describe('ZipArchive', () => {
  for (const zip64 of [false, true]) {
    it(`lists and reads 64-byte aligned STORED entries (zip64: ${zip64})`, async () => {
      const bytes = writeStoredZip(
        [
          { name: 'archive/data.pkl', data: enc('pickle') },
          { name: 'archive/data/0', data: new Uint8Array(1000).fill(7) },
          { name: 'archive/empty', data: new Uint8Array(0) },
        ],
        { zip64 },
      );
      const zip = await ZipArchive.open(await put(bytes));
      try {
        expect([...zip.entries.keys()]).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/empty']);
        const data = zip.entries.get('archive/data/0')!;
        expect(data.dataOffset % 64).toBe(0);
        expect(await zip.readRange(data, 10, 5)).toEqual(new Uint8Array(5).fill(7));
        expect(new TextDecoder().decode(await zip.readEntry(zip.entries.get('archive/data.pkl')!, 100))).toBe('pickle');
        await expect(zip.readRange(data, 999, 2)).rejects.toThrow(/runs outside zip entry archive\/data\/0/);
        await expect(zip.readEntry(data, 100)).rejects.toThrow(/more than the 100 allowed/);
      } finally {
        await zip.close();
      }
    });
  }

  it('refuses duplicate names, overlapping entries, comments that do not fit, and too many entries', async () => {
    const dup = writeStoredZip([{ name: 'a/x', data: enc('1') }, { name: 'a/x', data: enc('2') }]);
    expect(await refusal(dup)).toMatch(/zip entry a\/x appears twice/);

    // Point the second central entry at the first local header: two entries sharing bytes.
    const two = writeStoredZip([{ name: 'a/x', data: enc('1') }, { name: 'a/y', data: enc('2') }], { align: 1 });
    const buf = Buffer.from(two);
    const second = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 4);
    buf.write('a/x', second + 46); // same name as first local header so the local check passes
    buf.writeUInt32LE(0, second + 42);
    expect(await refusal(new Uint8Array(buf))).toMatch(/appears twice|overlap/);

    const withComment = new Uint8Array([...writeStoredZip([{ name: 'a/x', data: enc('1') }]), 0x41]);
    expect(await refusal(withComment)).toMatch(/no end-of-central-directory record/);

    const many = writeStoredZip(Array.from({ length: 5 }, (_, i) => ({ name: `a/${i}`, data: enc('x') })));
    const error = await ZipArchive.open(await put(many), { maxEntries: 4 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/lists 5 entries, more than the 4 allowed/);
  });

  it('refuses encrypted entries and names that escape', async () => {
    const enc1 = Buffer.from(writeStoredZip([{ name: 'a/x', data: enc('1') }]));
    enc1.writeUInt16LE(1, enc1.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 8);
    expect(await refusal(new Uint8Array(enc1))).toMatch(/is encrypted/);
    for (const name of ['/etc/passwd', 'a/../../x', 'a\\b', 'C:/x', 'a//b']) {
      expect(await refusal(writeStoredZip([{ name, data: enc('1') }]))).toMatch(/has an unsafe name/);
    }
  });
});
