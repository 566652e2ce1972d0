/**
 * Blob downloads against the real registry (docker-registry) through the fault proxy, into a real blob store:
 * a large blob as parallel ranged GETs verified and committed to the store; a partial left by an earlier run
 * resumed (only its gaps asked for); a blob the store has linked without a request; two downloads of one blob at
 * once fetch it once; a registry that ignores Range still gives the right bytes; a wrong byte is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore, isModelImportError } from '../../../src/index.js';
import { PartialFile } from '../../../src/index.js';
import { tempDir } from '../../../test/support/temp.js';
import { registryAvailable, startRegistry, type RealRegistry } from '../test-support/real-registry.js';
import { startFaultProxy, type FaultProxy } from '../test-support/fault-proxy.js';
import { uploadBlob } from './blob-upload.js';
import { downloadBlob, type DownloadOptions } from './blob-download.js';
import { parseReference, registryBaseUrl } from './reference.js';
import { RegistryClient } from './registry-client.js';
import { Slots } from './run-pool.js';

const available = registryAvailable();
const MiB = 2 ** 20;

let registry: RealRegistry;
let proxy: FaultProxy;
const bytes = randomBytes(5 * MiB + 12345);
const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const hex = digest.slice(7);

function client(host: string): RegistryClient {
  const ref = parseReference(`${host}/test/download:t`);
  return new RegistryClient({
    ref,
    baseUrl: registryBaseUrl(ref.registry),
    credentials: { username: registry.username, password: registry.password, origin: 'test' },
    signal: new AbortController().signal,
    actions: 'pull,push',
    retry: { budgetMs: 2_000, baseDelayMs: 20, maxDelayMs: 100 },
  });
}

beforeAll(async () => {
  if (!available) return;
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  expect(await uploadBlob(client(registry.host), { digest, size: bytes.length, bytes }, { chunkSize: 8 * MiB })).toBe('uploaded');
});
afterAll(async () => {
  await proxy?.close();
  await registry?.close();
});

async function setup(): Promise<{ store: BlobStore; dir: string; cleanup: () => Promise<void>; options: (extra?: Partial<DownloadOptions>) => DownloadOptions }> {
  const { dir, cleanup } = await tempDir('oci-download-');
  const store = await BlobStore.open(path.join(dir, 'models'));
  const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
    blobs: store,
    partialDir: store.partialDir,
    signal: new AbortController().signal,
    slots: new Slots(4),
    connections: 4,
    rangeSize: MiB,
    ...extra,
  });
  return { store, dir, cleanup, options };
}

/** The blob GETs answered with bytes (a first request of each connection may meet a 401 before it authenticates). */
const blobGets = () => proxy.log.filter((l) => l.method === 'GET' && l.path.endsWith(digest) && l.status !== 401);

describe.skipIf(!available)('blob downloads into the blob store', () => {
  it('fetches a large blob as parallel ranged GETs, verifies it, commits it to the store and links it into place', async () => {
    const { store, dir, cleanup, options } = await setup();
    try {
      proxy.log.length = 0;
      const dest = path.join(dir, 'staging', 'model.safetensors');
      const result = await downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [dest] }, options());
      expect(result).toEqual({ downloaded: bytes.length, how: 'downloaded' });
      expect(Buffer.compare(await fs.readFile(dest), bytes)).toBe(0);
      // Six 1 MiB ranges, each asked once, and nothing else.
      expect(blobGets().map((l) => l.range).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `bytes=${i * MiB}-${Math.min(bytes.length, (i + 1) * MiB) - 1}`).sort());
      expect((await fs.stat(dest)).ino).toBe((await fs.stat(store.blobPath(hex))).ino);
      expect(await fs.readdir(store.partialDir)).toEqual([]);
      // Again: the store has it, so no request at all.
      proxy.log.length = 0;
      const again = await downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [path.join(dir, 'other', 'w')] }, options());
      expect(again).toEqual({ downloaded: 0, how: 'store' });
      expect(blobGets()).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('resumes a partial an earlier run left (the hub source\'s format): only its gaps are asked for', async () => {
    const { store, dir, cleanup, options } = await setup();
    try {
      const partial = await PartialFile.open(store.partialDir, hex, bytes.length);
      await partial.write(bytes.subarray(0, 1_500_000), 0);
      await partial.write(bytes.subarray(3 * MiB, 4 * MiB), 3 * MiB);
      await partial.close();
      proxy.log.length = 0;
      let resumed = 0;
      const dest = path.join(dir, 'staging', 'w');
      const result = await downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [dest] }, options({ onResume: (n) => (resumed = n) }));
      expect(result).toEqual({ downloaded: bytes.length - 1_500_000 - MiB, how: 'resumed' });
      expect(resumed).toBe(1_500_000 + MiB);
      expect(blobGets().every((l) => !/^bytes=0-/.test(l.range ?? '') && !l.range?.startsWith(`bytes=${3 * MiB}-`))).toBe(true);
      expect(blobGets().some((l) => l.range?.startsWith('bytes=1500000-'))).toBe(true);
      expect(Buffer.compare(await fs.readFile(dest), bytes)).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('two downloads of one blob at once: the second waits for the partial\'s lock and links what the first stored', async () => {
    const { dir, cleanup, options } = await setup();
    try {
      proxy.log.length = 0;
      const [a, b] = await Promise.all([
        downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [path.join(dir, 'a', 'w')] }, options()),
        downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [path.join(dir, 'b', 'w')] }, options()),
      ]);
      expect([a.how, b.how].sort()).toEqual(['downloaded', 'store']);
      expect(blobGets().reduce((sum, l) => sum + l.bytes, 0)).toBe(bytes.length);
      expect(Buffer.compare(await fs.readFile(path.join(dir, 'b', 'w')), bytes)).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('a registry that does not announce Accept-Ranges gets one whole-blob request', async () => {
    const { dir, cleanup, options } = await setup();
    try {
      proxy.log.length = 0;
      proxy.rules.push({ path: new RegExp(`${digest}$`), times: 1000, fault: 'no-range' });
      const dest = path.join(dir, 's', 'w');
      const result = await downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [dest] }, options());
      expect(result.how).toBe('downloaded');
      expect(Buffer.compare(await fs.readFile(dest), bytes)).toBe(0);
      // Without Accept-Ranges in the HEAD: one request for the whole blob, not ranges each answered in full.
      expect(blobGets().filter((l) => l.method === 'GET')).toHaveLength(1);
    } finally {
      proxy.rules.length = 0;
      await cleanup();
    }
  });

  it('a flipped byte is refused (HASH_MISMATCH): no partial and no blob kept', async () => {
    const { store, dir, cleanup, options } = await setup();
    try {
      proxy.rules.push({ method: 'GET', path: new RegExp(`${digest}$`), times: 100, fault: 'corrupt' });
      const error = await downloadBlob(client(proxy.host), { digest, size: bytes.length, dests: [path.join(dir, 's', 'w')] }, options()).catch((e) => e);
      expect(isModelImportError(error) && error.code, String(error)).toBe('HASH_MISMATCH');
      expect(await fs.readdir(store.partialDir)).toEqual([]);
      expect(await store.has(hex)).toBe(false);
    } finally {
      proxy.rules.length = 0;
      await cleanup();
    }
  });
});
