/**
 * fetch: every planned file into rawDir, verified. Files and the ranges of large files share one pool of
 * connections; bytes go straight to their offset in a resumable partial file (bounded memory whatever the size),
 * are hashed in order as they land, and the file is renamed into rawDir only once its hash matches the hub's.
 * What to download: download-targets.ts; what is already here: local-copies.ts; how it stops: download-errors.ts.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  formatBytes,
  ModelImportError,
  type FetchContext,
  type FetchResult,
  type ImportPlan,
  type TaskHandle,
} from '../../../src/index.js';
import type { RepoRef } from './hub-access.js';
import { hubError } from './hub-errors.js';
import { NAME } from './names.js';
import type { EffectiveSettings } from './options.js';
import { BatchWriter, OrderedHasher, PartialFile, chunkSizeFor } from '../../../src/index.js';
import { ProxyEnv } from './proxy-env.js';
import { buildTargets, type Target } from './download-targets.js';
import { findLocalCopy, linkLocalCopy, planLine, type LocalCopy } from './local-copies.js';
import { diskFull, gaveUp } from './download-errors.js';
import { HttpStatusError, RangeGet, READ_BUFFER_BYTES } from './range-get.js';
import { abortReason, asTransient, RetryTracker, sleep } from '../../../src/index.js';
import type { FoundToken } from './token-discovery.js';

/** Bytes collected from the socket before one positional write. */
const WRITE_BATCH = 1 << 20;

/** What one connection reuses from range to range: two batches and the socket read buffer. */
interface WorkerBuffers {
  batches: [Buffer, Buffer];
  read: Buffer;
}

interface TargetState {
  target: Target;
  task: TaskHandle;
  partial?: PartialFile;
  hasher?: OrderedHasher;
  /** Ranges handed to connections and not finished yet. */
  outstanding: number;
  /** What is left to hand out: the gaps of the partial, cut into ranges on demand (a listing may declare petabytes). */
  gaps: [number, number][];
  chunk: number;
  restartedFresh: boolean;
  downloaded: number;
  sha256?: string;
  finished: boolean;
  /** A retry was announced (once per file, so a flaky link does not flood the terminal). */
  warned: boolean;
  /** Where the bytes are already on this machine: the models folder's blob store, or the user's HF cache blob. */
  local?: LocalCopy;
}

interface Job {
  state: TargetState;
  start: number;
  end: number;
}

export interface DownloadInput {
  plan: ImportPlan;
  ref: RepoRef;
  commit: string;
  token?: FoundToken;
  context: FetchContext;
  settings: EffectiveSettings;
}

export async function downloadFiles(input: DownloadInput): Promise<FetchResult> {
  return new Downloader(input).run();
}

class Downloader {
  private readonly internal = new AbortController();
  private readonly signal: AbortSignal;
  private readonly states: TargetState[] = [];
  private readonly toPrepare: TargetState[] = [];
  /** Prepared files with ranges left to hand out, in plan order. */
  private readonly active: TargetState[] = [];
  private readonly finalizing = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private open = 0;
  private error: unknown;
  private bytesDownloaded = 0;
  private readonly authOrigin: string;
  private readonly proxies: ProxyEnv;

  constructor(private readonly input: DownloadInput) {
    this.signal = AbortSignal.any([input.context.signal, this.internal.signal]);
    this.authOrigin = new URL(input.ref.endpoint).origin;
    this.proxies = new ProxyEnv(input.context.env);
  }

  async run(): Promise<FetchResult> {
    const { plan, context, settings } = this.input;
    // Smallest first: a large file's ranges take every connection until all are handed out, so a small file
    // queued behind it would sit at 0% for the whole download. Small ones first finish in a moment.
    const targets = buildTargets(plan, context.rawDir, this.input.ref, this.input.commit).sort((a, b) => a.size - b.size); // refuses unsafe paths before anything is written
    await mkdir(context.rawDir, { recursive: true });
    await mkdir(context.partialDir, { recursive: true });
    for (const target of targets) {
      const state: TargetState = {
        target,
        task: context.reporter.task(target.paths[0], target.size, 'download'),
        outstanding: 0,
        gaps: [],
        chunk: 0,
        restartedFresh: false,
        downloaded: 0,
        finished: false,
        warned: false,
      };
      this.states.push(state);
      this.toPrepare.push(state);
    }
    this.open = this.states.length;
    await this.findLocal();
    try {
      const workers = Array.from({ length: settings.connections }, () => this.worker());
      await Promise.all(workers);
      while (this.finalizing.size) await Promise.allSettled([...this.finalizing]);
    } finally {
      await this.cleanUp();
    }
    if (context.signal.aborted) throw abortReason(context.signal);
    if (this.error !== undefined) throw this.error;
    const byPath = new Map(this.states.flatMap((s) => s.target.paths.map((p) => [p, s] as const)));
    return {
      files: plan.files.map((f) => ({ path: f.path, size: f.size, sha256: byPath.get(f.path)!.sha256! })),
      bytesDownloaded: this.bytesDownloaded,
    };
  }

  /** Marks the files whose bytes are already here and says the plan: "652.6 MB to download, 335.5 MB already here". */
  private async findLocal(): Promise<void> {
    const { blobs, env } = this.input.context;
    if (!blobs) return;
    let here = 0;
    let fromCache = 0;
    let total = 0;
    for (const state of this.states) {
      total += state.target.size;
      state.local = await findLocalCopy(state.target, blobs, env, this.input.plan.modelId);
      if (state.local) here += state.target.size;
      if (state.local?.from === 'hf-cache') fromCache += state.target.size;
    }
    if (here > 0) this.input.context.reporter.info(planLine(total, here, fromCache), NAME);
  }

  /** Links a file the store has (or adopts from the HF cache after checking its hash). False: download it after all. */
  private async fromLocal(state: TargetState): Promise<boolean> {
    const { blobs, reporter } = this.input.context;
    const local = state.local;
    state.local = undefined;
    if (!blobs || !local) return false;
    const sha256 = await linkLocalCopy(local, state.target, blobs, reporter, this.signal);
    if (!sha256) return false;
    state.sha256 = sha256;
    state.finished = true;
    // Counted as bytes already here (like a resume), not as downloaded ones: no huge speed for a file linked in.
    state.task.resumeFrom(state.target.size);
    state.task.end('done');
    this.open--;
    this.wake();
    return true;
  }

  private fail(error: unknown): void {
    if (this.error === undefined) this.error = error;
    this.internal.abort();
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private async worker(): Promise<void> {
    let buffers: WorkerBuffers | undefined;
    for (;;) {
      const job = await this.next();
      if (!job) return;
      buffers ??= {
        batches: [Buffer.allocUnsafe(WRITE_BATCH + READ_BUFFER_BYTES), Buffer.allocUnsafe(WRITE_BATCH + READ_BUFFER_BYTES)],
        read: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      };
      try {
        await this.runJob(job, buffers);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (--job.state.outstanding === 0 && job.state.gaps.length === 0) this.track(this.finalize(job.state));
    }
  }

  /** The next range to fetch; opens files lazily so only files in progress hold a descriptor. */
  private async next(): Promise<Job | undefined> {
    for (;;) {
      if (this.error !== undefined || this.signal.aborted) return undefined;
      const job = this.takeRange();
      if (job) return job;
      const state = this.toPrepare.shift();
      if (state) {
        try {
          await this.prepare(state);
        } catch (error) {
          this.fail(error);
          return undefined;
        }
        continue;
      }
      if (this.open === 0) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch((error) => this.fail(error)).finally(() => this.finalizing.delete(tracked));
    this.finalizing.add(tracked);
  }

  private async prepare(state: TargetState): Promise<void> {
    const { target } = state;
    if (await this.fromLocal(state)) return;
    let partial = await PartialFile.open(this.input.context.partialDir, target.key, target.size, this.signal);
    const blobs = this.input.context.blobs;
    const done = blobs && (target.sha256 ?? (target.gitOid ? await blobs.sha256OfGitOid(target.gitOid) : undefined));
    if (blobs && done && (await blobs.has(done, target.size))) {
      // Another import finished this file while we waited for its partial's lock: the (fresh) partial is not needed.
      await partial.discard();
      state.local = { sha256: done, from: 'store' };
      if (await this.fromLocal(state)) return;
      partial = await PartialFile.open(this.input.context.partialDir, target.key, target.size, this.signal);
    }
    state.partial = partial;
    state.hasher = new OrderedHasher(partial.fh, target.size, partial.done, target.sha256 === undefined, this.signal);
    state.hasher.kick(); // resumed bytes are re-hashed from disk while the rest downloads
    if (partial.resumedBytes) {
      this.input.context.reporter.info(`${target.paths[0]}: resuming: ${formatBytes(partial.resumedBytes)} already here.`, NAME);
      state.task.resumeFrom(partial.resumedBytes);
    }
    state.chunk = chunkSizeFor(target.size, this.input.settings.chunkSize, this.input.settings.connections);
    state.gaps = partial.done.missing(target.size);
    state.outstanding = 0;
    if (state.gaps.length === 0) this.track(this.finalize(state));
    else this.active.push(state);
    this.wake();
  }

  /** The next range of the first file that has some left. */
  private takeRange(): Job | undefined {
    while (this.active.length) {
      const state = this.active[0];
      const gap = state.gaps[0];
      if (!gap) {
        this.active.shift();
        continue;
      }
      const start = gap[0];
      const end = Math.min(gap[1], start + state.chunk);
      if (end >= gap[1]) state.gaps.shift();
      else gap[0] = end;
      state.outstanding++;
      return { state, start, end };
    }
    return undefined;
  }

  private async runJob(job: Job, buffers: WorkerBuffers): Promise<void> {
    const { state, end } = job;
    const { settings, token } = this.input;
    const tracker = new RetryTracker(settings.retry);
    const writer = new BatchWriter(buffers.batches, job.start, WRITE_BATCH, (data, at) => this.write(state, data, at));
    while (writer.position < end) {
      if (this.signal.aborted) throw abortReason(this.signal);
      const attemptStart = writer.position;
      const request = new RangeGet({
        url: state.target.url,
        start: attemptStart,
        end,
        size: state.target.size,
        token: token?.token,
        authOrigin: this.authOrigin,
        signal: this.signal,
        // While failing, a stall may not outlast the retry budget.
        stallMs: Math.min(settings.stallTimeoutMs, Math.max(50, tracker.remainingMs())),
        userAgent: settings.userAgent,
        readBuffer: buffers.read,
        proxies: this.proxies,
      });
      writer.onResume = () => request.resume();
      writer.onFailure = (error) => request.fail(error);
      let failure: unknown;
      try {
        await request.run((view) => writer.push(view));
      } catch (error) {
        failure = error;
      }
      // What arrived before a cut is good data (the final hash vouches for it): it is kept. A failed write wins.
      await writer.flush();
      if (failure === undefined) continue;
      if (this.signal.aborted) throw abortReason(this.signal);
      if (writer.position > attemptStart) tracker.progressed();
      if (failure instanceof HttpStatusError) throw hubError(failure.failure, { ...this.input.ref, what: state.target.paths[0], token });
      const transient = asTransient(failure);
      if (!transient) throw failure;
      const delay = tracker.failed(transient);
      if (delay === undefined) throw gaveUp(state.target, state.partial!, transient, tracker);
      if (!state.warned) {
        state.warned = true;
        this.input.context.reporter.warn(`${state.target.paths[0]}: ${transient.what}; retrying (the bytes already received are kept).`, NAME);
      }
      await sleep(delay, this.signal);
    }
  }

  private async write(state: TargetState, data: Buffer, at: number): Promise<void> {
    try {
      await state.partial!.write(data, at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw error;
      throw diskFull(state.target, this.input.context.partialDir, error);
    }
    state.hasher!.onWritten(at, data);
    state.downloaded += data.byteLength;
    this.bytesDownloaded += data.byteLength;
    state.task.advance(data.byteLength);
  }

  private async finalize(state: TargetState): Promise<void> {
    const { target } = state;
    const partial = state.partial!;
    const digests = await state.hasher!.finish();
    const expected = target.sha256 ?? target.gitOid!;
    const actual = target.sha256 ? digests.sha256 : digests.gitSha1!;
    if (actual !== expected) {
      await partial.discard();
      state.partial = undefined;
      if (partial.resumedBytes > 0 && !state.restartedFresh) {
        // Bytes from an earlier run may be what is wrong: fetch the file once more from scratch.
        state.restartedFresh = true;
        state.task.set(0);
        this.input.context.reporter.warn(`${target.paths[0]}: the resumed download did not verify; downloading it again.`, NAME);
        await this.prepare(state);
        return;
      }
      throw new ModelImportError('HASH_MISMATCH', `${target.paths[0]} does not match the hash the hub lists for it (${target.sha256 ? 'sha256' : 'git blob sha1'}).`, {
        hint: 'The downloaded bytes were deleted. Run again; if it persists, a proxy or mirror (HF_ENDPOINT) alters files, or the repository is inconsistent.',
        details: { path: target.paths[0], expected, actual },
      });
    }
    const blobs = this.input.context.blobs;
    if (blobs) {
      // Into the store first (a rename, before the partial's lock is released, so a waiting import finds it), then
      // linked into this import: the verified bytes outlive the staging folder whatever happens next.
      // The blob's lock is held until it is linked: a gc in another process never sees it unlinked in between.
      const release = await blobs.lock(digests.sha256, this.signal);
      try {
        await partial.complete(blobs.blobPath(digests.sha256));
        await blobs.seal(digests.sha256);
        if (target.gitOid) await blobs.rememberGitOid(target.gitOid, digests.sha256);
        for (const dest of target.dests) {
          if (!(await blobs.linkInto(digests.sha256, dest))) throw new Error(`blob ${digests.sha256} vanished from ${blobs.blobDir}`);
        }
      } finally {
        await release();
      }
    } else {
      await partial.complete(target.dests[0]);
      for (const dest of target.dests.slice(1)) {
        await mkdir(path.dirname(dest), { recursive: true });
        await copyFile(target.dests[0], dest);
      }
    }
    state.sha256 = digests.sha256;
    state.finished = true;
    state.task.end(partial.resumedBytes > 0 ? 'resumed' : 'done');
    this.open--;
    this.wake();
  }

  /** Leaves every unfinished file resumable: read-backs stopped, done ranges recorded, descriptors closed. */
  private async cleanUp(): Promise<void> {
    for (const state of this.states) {
      if (state.finished) continue;
      await state.hasher?.settle().catch(() => undefined);
      await state.partial?.close();
      state.task.end('failed');
    }
  }
}
