/**
 * The parent side of onnx-process-child.ts: onnxruntime sessions that live in a child process, behind the few
 * members of InferenceSession the validator uses (inputMetadata, outputNames, run, release). The decoders and
 * the layer slices take a SessionHost, so they run the same code in-process (unit tests) or here (validation).
 *
 * Ctrl-C: the abort signal kills the child at once (SIGKILL) and every pending request rejects with the
 * signal's reason, so a caller that catches run errors can tell an interruption from a graph that failed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OnnxAnswer, OnnxRequest, WireKept, WireMetadata, WireTensor } from './onnx-process-child.js';

/**
 * An output that stayed in the onnxruntime process (OnnxSession.run's `keep`): only its id, type and shape are
 * here. Fed back to a run of the same session it is read there; its data never crosses the channel.
 */
export class KeptTensor {
  constructor(
    readonly kept: number,
    readonly type: Tensor.Type,
    readonly dims: readonly number[],
  ) {}

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }
}

/** A run's feed or output: a tensor here, or one kept where the session lives. */
export type HostTensor = Tensor | KeptTensor;

/** The members of an onnxruntime session the validator uses. */
export interface OnnxSession {
  readonly inputMetadata: readonly WireMetadata[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>>;
  /**
   * A run whose `keep` outputs stay where the session lives (KeptTensor) when the host can (in-process: returned),
   * and of whose `rows` outputs only those batch rows come back.
   */
  runKeeping(feeds: Record<string, HostTensor>, keep: readonly string[], rows?: Record<string, readonly [number, number]>): Promise<Record<string, HostTensor>>;
  /** Batch rows [from, to) of a kept tensor, kept too. */
  rows(tensor: KeptTensor, from: number, to: number): Promise<KeptTensor>;
  release(): Promise<void>;
}

/** Where sessions are created: this process (tests of the decoders) or an OnnxProcess. */
export interface SessionHost {
  create(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<OnnxSession>;
}

/**
 * Diagnostic for tests and the bench (MODEL_IMPORT_ONNX_RUN_DELAY_MS, inherited by the child): busy-wait that
 * long before each run, blocking the thread the way a long native onnxruntime call does, wherever runs happen.
 */
export function simulateLongRun(): void {
  const ms = Number(process.env.MODEL_IMPORT_ONNX_RUN_DELAY_MS ?? 0);
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // blocking on purpose
  }
}

/** Sessions in this process (onnxruntime then blocks this event loop during each call). */
export const inProcessSessions: SessionHost = {
  async create(model, options) {
    const session = typeof model === 'string' ? await InferenceSession.create(model, options) : await InferenceSession.create(model, options);
    const inputMetadata = session.inputMetadata.map((m): WireMetadata => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false }));
    return {
      inputMetadata,
      outputNames: session.outputNames,
      run: (feeds, fetches) => {
        simulateLongRun();
        return fetches ? session.run(feeds, fetches) : session.run(feeds);
      },
      runKeeping: async (feeds) => {
        simulateLongRun();
        // Nothing is kept apart here (this is where the caller lives): every feed is a Tensor, every output (all
        // rows) returned; the caller cuts the rows it asked for.
        if (Object.values(feeds).some((t) => t instanceof KeptTensor)) throw new Error('a kept tensor fed to an in-process session');
        return session.run(feeds as Record<string, Tensor>);
      },
      rows: () => Promise.reject(new Error('in-process sessions keep no tensors')),
      release: () => session.release(),
    };
  },
};

/** Compiled: the .js beside this file. From sources (tests, tsx): the .ts, run through tsx. */
function childEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./onnx-process-child.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL('./onnx-process-child.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class OnnxProcess implements SessionHost {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (answer: OnnxAnswer) => void; reject: (error: unknown) => void }>();
  private nextId = 1;
  private gone: unknown;
  private output = '';

  private constructor(private readonly signal?: AbortSignal) {
    const { file, execArgv } = childEntry();
    // glibc's mmap threshold fixed at 1 MiB (its default grows to 32 MiB as large blocks are freed): a released
    // segment's weights and activations then go back to the system, not into a heap the next segment piles on.
    // Measured on the Qwen3.5-0.8B shape under --max-memory 1GB: the process's peak 617 -> 561 MB. Other C
    // libraries ignore the variable.
    const env = { MALLOC_MMAP_THRESHOLD_: String(2 ** 20), ...process.env };
    this.child = fork(file, [], { execArgv, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', (answer: OnnxAnswer) => {
      const waiting = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (!waiting) return;
      if ('error' in answer) waiting.reject(new Error(answer.error));
      else waiting.resolve(answer);
    });
    this.child.on('error', (error) => this.end(new Error(`the onnxruntime process could not start: ${error.message}`)));
    this.child.on('exit', (code, signal) => {
      const line = this.output.trim().split('\n').at(-1);
      this.end(new Error(`the onnxruntime process ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${line ? `: ${line}` : ''}`));
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Starts the child now (its onnxruntime import overlaps the caller's other work). */
  static start(signal?: AbortSignal): OnnxProcess {
    return new OnnxProcess(signal);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async create(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<OnnxSession> {
    const answer = (await this.ask({ op: 'create', model, options })) as Extract<OnnxAnswer, { session: number }>;
    const session = answer.session;
    let released = false;
    return {
      inputMetadata: answer.inputMetadata,
      outputNames: answer.outputNames,
      run: async (feeds, fetches) => (await this.run(session, feeds, fetches)) as Record<string, Tensor>,
      runKeeping: (feeds, keep, rows) => this.run(session, feeds, undefined, keep, rows),
      rows: async (tensor, from, to) => {
        const reply = (await this.ask({ op: 'rows', session, kept: tensor.kept, from, to })) as Extract<OnnxAnswer, { tensor: unknown }>;
        return fromWire(reply.tensor);
      },
      release: async () => {
        if (released || this.gone) return;
        released = true;
        await this.ask({ op: 'release', session });
      },
    };
  }

  /**
   * The child's peak resident memory so far (0 once it is gone); `reset` starts a new measurement after it, so a
   * later phase's peak can be told from an earlier one's (Linux; elsewhere the lifetime peak stays).
   */
  async peakRssBytes(options: { reset?: boolean } = {}): Promise<number> {
    if (this.gone) return 0;
    const answer = (await this.ask({ op: 'peak', reset: options.reset }).catch(() => undefined)) as { peakRssBytes?: number } | undefined;
    return answer?.peakRssBytes ?? 0;
  }

  /** Stops the child at once; whatever it was asked rejects. */
  kill(): void {
    if (!this.gone) this.child.kill('SIGKILL');
  }

  /** Lets the child go (it exits when its channel closes); waits for it. */
  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.gone) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGKILL');
    await exited;
    clearTimeout(timer);
  }

  private readonly onAbort = () => {
    this.end(this.signal?.reason ?? new Error('aborted'));
    this.child.kill('SIGKILL');
  };

  private async run(session: number, feeds: Record<string, HostTensor>, fetches?: readonly string[], keep?: readonly string[], rows?: Record<string, readonly [number, number]>): Promise<Record<string, HostTensor>> {
    const wire = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, t instanceof KeptTensor ? { kept: t.kept } : ({ type: t.type, data: t.data, dims: t.dims } satisfies WireTensor)]));
    const reply = (await this.ask({ op: 'run', session, feeds: wire, fetches, keep, rows })) as Extract<OnnxAnswer, { outputs: unknown }>;
    // A typed array that arrives over the channel is a view into the whole message's buffer: copied out, a kept
    // output (a cache layer, the logits) does not keep every other output of its run alive.
    return Object.fromEntries(Object.entries(reply.outputs).map(([name, t]) => [name, 'kept' in t ? fromWire(t) : new Tensor(t.type, ownCopy(t.data) as never, t.dims)]));
  }

  private ask(request: Distribute<OnnxRequest>): Promise<OnnxAnswer> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...request, id } as OnnxRequest);
    });
  }

  /** The child is gone (or going): every pending request and every later one rejects with `why`. */
  private end(why: unknown): void {
    this.gone ??= why;
    for (const waiting of this.pending.values()) waiting.reject(this.gone);
    this.pending.clear();
  }
}

/** The array itself when it owns its buffer; else a copy that does. */
function ownCopy(data: unknown): unknown {
  if (!ArrayBuffer.isView(data) || data instanceof DataView) return data;
  const view = data as unknown as { buffer: ArrayBufferLike; byteLength: number; slice(): unknown };
  return view.byteLength === view.buffer.byteLength ? data : view.slice();
}

function fromWire(t: WireKept): KeptTensor {
  return new KeptTensor(t.kept, t.type, t.dims);
}
