/**
 * Minimal zip reader for PyTorch checkpoints: parses the end records and central directory itself (zip64
 * included, since torch switches to it above 4 GiB), accepts only STORED, unencrypted entries (torch writes
 * nothing else), checks names, sizes and that entries lie inside the file without overlapping, and reads data
 * with positional reads, so a 10 GB checkpoint is never loaded whole.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { badCheckpoint } from './bad-checkpoint.js';

export interface ZipEntry {
  name: string;
  /** Absolute offset of the first data byte. */
  dataOffset: number;
  size: number;
  crc32: number;
}

export interface ZipLimits {
  maxEntries?: number;
  maxCentralDirectoryBytes?: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

export class ZipArchive {
  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(file: string, limits: ZipLimits = {}): Promise<ZipArchive> {
    const handle = await open(file, 'r');
    try {
      const entries = await readDirectory(handle, file, limits);
      return new ZipArchive(file, handle, entries);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads `length` bytes at `offset` inside the entry (bounds-checked). */
  async readRange(entry: ZipEntry, offset: number, length: number, target = new Uint8Array(length)): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw badCheckpoint(this.file, `read of ${length} bytes at ${offset} runs outside zip entry ${entry.name} (${entry.size} bytes)`);
    }
    await readAt(this.handle, this.file, target, entry.dataOffset + offset);
    return target;
  }

  /** A whole (small) entry, with its CRC-32 checked. */
  async readEntry(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    if (entry.size > maxBytes) throw badCheckpoint(this.file, `zip entry ${entry.name} is ${entry.size} bytes, more than the ${maxBytes} allowed`);
    const data = await this.readRange(entry, 0, entry.size);
    if (crc32(data) !== entry.crc32) throw badCheckpoint(this.file, `zip entry ${entry.name} fails its CRC-32 check (corrupted download?)`);
    return data;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readAt(handle: FileHandle, file: string, target: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (bytesRead === 0) throw badCheckpoint(file, `unexpected end of file at byte ${position + done} (truncated?)`);
    done += bytesRead;
  }
}

function u64(view: DataView, at: number, file: string, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw badCheckpoint(file, `zip ${what} ${value} is impossibly large`);
  return Number(value);
}

async function readDirectory(handle: FileHandle, file: string, limits: ZipLimits): Promise<Map<string, ZipEntry>> {
  const maxEntries = limits.maxEntries ?? 100_000;
  const maxCd = limits.maxCentralDirectoryBytes ?? 64 << 20;
  const { size } = await handle.stat();
  const head = new Uint8Array(Math.min(4, size));
  await readAt(handle, file, head, 0);
  const tailLength = Math.min(size, 22 + MAX_COMMENT);
  const tail = new Uint8Array(tailLength);
  await readAt(handle, file, tail, size - tailLength);
  const tv = new DataView(tail.buffer);

  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) === tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const magic = Array.from(head);
    if (magic[0] === 0x50 && magic[1] === 0x4b) throw badCheckpoint(file, 'zip archive is truncated: no end-of-central-directory record', 'The download is incomplete: download it again.');
    if (magic[0] === 0x80) {
      throw badCheckpoint(file, 'is a legacy (pre-1.6) torch.save file, not a zip checkpoint: not supported', 'Use the model\'s safetensors files, or re-save the checkpoint with a recent PyTorch.');
    }
    throw badCheckpoint(file, 'is not a zip archive (no end-of-central-directory record)');
  }
  const eocdAbsolute = size - tailLength + eocd;
  if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0) throw badCheckpoint(file, 'is a multi-part zip archive: not supported');
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  let cdLimit = eocdAbsolute;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocdAbsolute < 20) throw badCheckpoint(file, 'zip64 archive is missing its zip64 locator');
    const locator = new Uint8Array(20);
    await readAt(handle, file, locator, eocdAbsolute - 20);
    const lv = new DataView(locator.buffer);
    if (lv.getUint32(0, true) !== ZIP64_LOCATOR) throw badCheckpoint(file, 'zip64 archive is missing its zip64 locator');
    const recordOffset = u64(lv, 8, file, 'zip64 record offset');
    if (recordOffset + 56 > eocdAbsolute - 20) throw badCheckpoint(file, 'zip64 end record lies outside the archive');
    const record = new Uint8Array(56);
    await readAt(handle, file, record, recordOffset);
    const rv = new DataView(record.buffer);
    if (rv.getUint32(0, true) !== ZIP64_EOCD) throw badCheckpoint(file, 'zip64 end record is damaged');
    count = u64(rv, 32, file, 'entry count');
    cdSize = u64(rv, 40, file, 'central directory size');
    cdOffset = u64(rv, 48, file, 'central directory offset');
    cdLimit = recordOffset;
  }
  if (count > maxEntries) throw badCheckpoint(file, `zip archive lists ${count} entries, more than the ${maxEntries} allowed`);
  if (cdSize > maxCd) throw badCheckpoint(file, `zip central directory is ${cdSize} bytes, more than the ${maxCd} allowed`);
  if (cdOffset + cdSize > cdLimit) throw badCheckpoint(file, 'zip central directory lies outside the archive (truncated or damaged)');

  const cd = new Uint8Array(cdSize);
  await readAt(handle, file, cd, cdOffset);
  const cv = new DataView(cd.buffer);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries = new Map<string, ZipEntry>();
  const spans: Array<{ start: number; end: number; name: string }> = [];
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (at + 46 > cdSize || cv.getUint32(at, true) !== CENTRAL) throw badCheckpoint(file, `zip central directory entry ${k} is damaged`);
    const flags = cv.getUint16(at + 8, true);
    const method = cv.getUint16(at + 10, true);
    const crc = cv.getUint32(at + 16, true);
    let compressed = cv.getUint32(at + 20, true);
    let uncompressed = cv.getUint32(at + 24, true);
    const nameLength = cv.getUint16(at + 28, true);
    const extraLength = cv.getUint16(at + 30, true);
    const commentLength = cv.getUint16(at + 32, true);
    let localOffset = cv.getUint32(at + 42, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdSize) throw badCheckpoint(file, `zip central directory entry ${k} runs past the directory`);
    let name: string;
    try {
      name = decoder.decode(cd.subarray(at + 46, at + 46 + nameLength));
    } catch {
      throw badCheckpoint(file, `zip entry ${k} has a name that is not UTF-8`);
    }
    checkEntryName(file, name);
    // zip64 extra: the fields whose 32-bit slot is 0xffffffff, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = cv.getUint16(extra, true);
      const length = cv.getUint16(extra + 2, true);
      if (extra + 4 + length > extraEnd) throw badCheckpoint(file, `zip entry ${name} has a damaged extra field`);
      if (id === 0x0001) {
        let field = extra + 4;
        const take = (what: string) => {
          if (field + 8 > extra + 4 + length) throw badCheckpoint(file, `zip entry ${name} has a short zip64 field`);
          const value = u64(cv, field, file, what);
          field += 8;
          return value;
        };
        if (uncompressed === 0xffffffff) uncompressed = take('size');
        if (compressed === 0xffffffff) compressed = take('size');
        if (localOffset === 0xffffffff) localOffset = take('offset');
      }
      extra += 4 + length;
    }
    if (flags & 0x1) throw badCheckpoint(file, `zip entry ${name} is encrypted: not supported`);
    if (method !== 0) throw badCheckpoint(file, `zip entry ${name} is compressed (method ${method}); PyTorch checkpoints store entries uncompressed`);
    if (compressed !== uncompressed) throw badCheckpoint(file, `zip entry ${name} is stored with two different sizes`);
    if (entries.has(name)) throw badCheckpoint(file, `zip entry ${name} appears twice`);

    if (localOffset + 30 > cdOffset) throw badCheckpoint(file, `zip entry ${name} starts outside the archive data`);
    const local = new Uint8Array(30);
    await readAt(handle, file, local, localOffset);
    const lv = new DataView(local.buffer);
    if (lv.getUint32(0, true) !== LOCAL) throw badCheckpoint(file, `zip entry ${name} has no local header where the directory says`);
    const localName = new Uint8Array(lv.getUint16(26, true));
    await readAt(handle, file, localName, localOffset + 30);
    if (Buffer.compare(localName, cd.subarray(at + 46, at + 46 + nameLength)) !== 0) {
      throw badCheckpoint(file, `zip entry ${name} has a different name in its local header`);
    }
    const dataOffset = localOffset + 30 + localName.length + lv.getUint16(28, true);
    if (dataOffset + uncompressed > cdOffset) throw badCheckpoint(file, `zip entry ${name} runs past the end of the archive data (truncated?)`);
    entries.set(name, { name, dataOffset, size: uncompressed, crc32: crc });
    spans.push({ start: localOffset, end: dataOffset + uncompressed, name });
    at = next;
  }
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) throw badCheckpoint(file, `zip entries ${spans[i - 1].name} and ${spans[i].name} overlap`);
  }
  return entries;
}

function checkEntryName(file: string, name: string): void {
  const bad =
    name.length === 0 ||
    name.length > 1024 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[A-Za-z]:/.test(name) ||
    name.split('/').some((part, i, parts) => part === '..' || part === '.' || (part === '' && i !== parts.length - 1));
  if (bad) throw badCheckpoint(file, `zip entry ${JSON.stringify(name.slice(0, 100))} has an unsafe name`);
}
