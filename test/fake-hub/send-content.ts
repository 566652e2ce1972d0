/**
 * Streams file content for /resolve and /raw: ranges, injected faults, the per-connection throttle and the weight-byte
 * counter. Bytes go out as views of the source (Buffer.subarray), never copied, so a 1 GB file streams at loopback speed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HubError, sendError } from './http-error.js';
import type { Exchange, HubState } from './hub-state.js';
import type { RangeResult } from './range.js';
import { throttleChunkSize } from './throttle.js';

export interface ContentSpec {
  repoId: string;
  size: number;
  read(start: number, end: number): Uint8Array | Promise<Uint8Array>;
  /** ETag, X-Linked-*, X-Repo-Commit and such. */
  headers: Record<string, string>;
  countsAsWeight: boolean;
  range: RangeResult;
}

/** Largest single write when unthrottled: big enough to keep syscalls few, small enough to honour backpressure. */
const MAX_CHUNK = 4 * 1024 * 1024;
const MAX_TIMER_MS = 2_147_483_647;

/** Resolves after `ms` (Infinity = never) or when `signal` aborts, whichever is first. Never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  if (ms > MAX_TIMER_MS) return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

/** Resolves once everything written so far has left the process (handed to the kernel), or the socket is gone. */
function flushed(ex: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const socket = ex.req.socket;
    if (socket.destroyed) return resolve();
    socket.write(Buffer.alloc(0), () => resolve());
  });
}

function drained(ex: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ex.res.off('drain', done);
      ex.res.off('close', done);
      resolve();
    };
    ex.res.on('drain', done);
    ex.res.on('close', done);
  });
}

const toBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

export async function sendContent(ex: Exchange, state: HubState, spec: ContentSpec): Promise<void> {
  const { res } = ex;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ...spec.headers,
  };
  const range = spec.range;
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${spec.size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  let status = 200;
  let start = 0;
  let length = spec.size;
  if (range.kind === 'partial') {
    status = 206;
    start = range.start;
    length = range.end - range.start + 1;
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${spec.size}`;
  } else if (range.kind === 'empty') {
    headers['Content-Range'] = 'bytes */0';
  }
  headers['Content-Length'] = length;

  const fault = state.faults.take(ex.path, length, ex.isHead);
  if (fault) ex.entry.fault = fault.kind;
  if (fault?.kind === 'reset') {
    ex.req.socket.destroy();
    return;
  }
  if (fault?.kind === 'status') {
    sendError(res, new HubError(fault.status, `Fake hub: injected ${fault.status}`), ex.isHead);
    return;
  }

  res.writeHead(status, headers);
  if (ex.isHead || length === 0) {
    res.end();
    return;
  }

  const dropAt = fault?.kind === 'drop-after' ? fault.bytes : undefined;
  const stallAt = fault?.kind === 'stall' ? fault.afterBytes : undefined;
  const bucket = state.throttle.bucketFor(ex.req.socket);
  bucket.startResponse();
  let sent = 0;
  let stalled = false;
  if (dropAt === 0 || stallAt === 0) res.flushHeaders();

  while (sent < length) {
    if (ex.signal.aborted) return;
    if (sent === dropAt) {
      await flushed(ex);
      ex.req.socket.destroy();
      return;
    }
    if (sent === stallAt && !stalled) {
      stalled = true;
      await pause(fault!.kind === 'stall' ? fault!.ms : 0, ex.signal);
      continue;
    }
    const rate = state.throttle.rate;
    let n = Math.min(length - sent, rate ? throttleChunkSize(rate) : MAX_CHUNK);
    const nextStop = [dropAt, stalled ? undefined : stallAt].filter((x): x is number => x !== undefined && x > sent);
    if (nextStop.length) n = Math.min(n, ...nextStop.map((x) => x - sent));
    if (rate) {
      try {
        await bucket.take(n, ex.signal);
      } catch {
        return; // aborted while waiting
      }
    }
    const chunk = toBuffer(await spec.read(start + sent, start + sent + n));
    if (chunk.byteLength !== n) throw new Error(`fake hub: source for ${ex.path} returned ${chunk.byteLength} bytes, wanted ${n}`);
    if (ex.signal.aborted) return;
    sent += n;
    if (spec.countsAsWeight) state.weightBytes.set(spec.repoId, (state.weightBytes.get(spec.repoId) ?? 0) + n);
    if (!res.write(chunk)) await drained(ex);
  }
  if (sent === dropAt) {
    // Unreachable by construction (faults need a longer body), kept so a drop never turns into a clean end.
    await flushed(ex);
    ex.req.socket.destroy();
    return;
  }
  res.end();
}
