/**
 * Child process that holds the validator's onnxruntime sessions. onnxruntime-node runs `InferenceSession.create`
 * and `run` synchronously on the thread that calls them, so in the CLI's own process a 1-2 s call left Ctrl-C
 * unanswered until it returned. Here the calls block only this process: the parent's event loop stays free, and
 * on Ctrl-C it kills this process (SIGKILL) and leaves at once. A worker thread would not do: process.exit joins
 * worker threads, which waits for the native call to end.
 *
 *   parent -> {id, op:'create', model: path | bytes, options}   child -> {id, session, inputMetadata, outputNames}
 *   parent -> {id, op:'run', session, feeds, fetches?, keep?, rows?}  child -> {id, outputs}  (rows: batch rows sent)
 *   parent -> {id, op:'rows', session, kept, from, to}          child -> {id, tensor}   (batch rows of a kept tensor)
 *   parent -> {id, op:'release', session}                       child -> {id}           (its kept tensors too)
 *   parent -> {id, op:'peak', reset?}                           child -> {id, peakRssBytes} (reset: a new peak starts)
 *   child  -> {id, error}                                       (the parent rejects that request with it)
 *
 * Tensors cross as {type, data, dims} (structured clone, `serialization: 'advanced'`). Outputs named in `keep`
 * stay here and cross as {kept, type, dims}; a feed may be such a {kept} and is read from here. The decoder keeps
 * its cache this way: a Qwen3.5-0.8B prompt call returns ~40 MB of Gated DeltaNet state that only feeds the next
 * call, and every crossing costs several copies on both sides (chunks, their concatenation, the serialiser).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { batchRows } from './batch-rows.js';
import { simulateLongRun } from './onnx-process.js';
import { peakRssBytes, resetPeakRss } from './peak-memory.js';
import { watchParent } from './parent-watchdog.js';

export interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

/** An output kept in this process, by id (the data never crosses). */
export interface WireKept {
  kept: number;
  type: Tensor.Type;
  dims: readonly number[];
}

export interface WireMetadata {
  name: string;
  isTensor: boolean;
  type?: Tensor.Type;
  shape?: ReadonlyArray<number | string>;
}

export type OnnxRequest =
  | { id: number; op: 'create'; model: string | Uint8Array; options: InferenceSession.SessionOptions }
  | { id: number; op: 'run'; session: number; feeds: Record<string, WireTensor | { kept: number }>; fetches?: readonly string[]; keep?: readonly string[]; rows?: Record<string, readonly [number, number]> }
  | { id: number; op: 'rows'; session: number; kept: number; from: number; to: number }
  | { id: number; op: 'release'; session: number }
  | { id: number; op: 'peak'; reset?: boolean };

export type OnnxAnswer =
  | { id: number; session: number; inputMetadata: WireMetadata[]; outputNames: string[] }
  | { id: number; outputs: Record<string, WireTensor | WireKept> }
  | { id: number; tensor: WireKept }
  | { id: number; peakRssBytes: number }
  | { id: number; error: string }
  | { id: number };

const sessions = new Map<number, InferenceSession>();
let nextSession = 1;
/** Kept outputs by id, with the session they are freed with. */
const kept = new Map<number, { session: number; tensor: Tensor }>();
let nextKept = 1;

function keep(session: number, tensor: Tensor): WireKept {
  const id = nextKept++;
  kept.set(id, { session, tensor });
  return { kept: id, type: tensor.type, dims: tensor.dims };
}

function keptTensor(id: number): Tensor {
  const entry = kept.get(id);
  if (!entry) throw new Error(`no kept tensor ${id} (its session was released)`);
  return entry.tensor;
}

async function answer(request: OnnxRequest): Promise<OnnxAnswer> {
  switch (request.op) {
    case 'create': {
      const session =
        typeof request.model === 'string'
          ? await InferenceSession.create(request.model, request.options)
          : await InferenceSession.create(request.model, request.options);
      const id = nextSession++;
      sessions.set(id, session);
      const inputMetadata = session.inputMetadata.map((m) =>
        m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false },
      );
      return { id: request.id, session: id, inputMetadata, outputNames: [...session.outputNames] };
    }
    case 'run': {
      const session = sessionOf(request.session);
      simulateLongRun();
      const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, t]) => [name, 'kept' in t ? keptTensor(t.kept) : new Tensor(t.type, t.data as never, t.dims)]));
      const produced = request.fetches ? await session.run(feeds, request.fetches) : await session.run(feeds);
      const toKeep = new Set(request.keep ?? []);
      const outputs: Record<string, WireTensor | WireKept> = {};
      for (const [name, tensor] of Object.entries(produced)) {
        const rows = request.rows?.[name];
        const sent = rows ? batchRows(tensor, rows[0], rows[1]) : tensor;
        outputs[name] = toKeep.has(name) ? keep(request.session, sent) : { type: sent.type, data: sent.data, dims: sent.dims };
      }
      return { id: request.id, outputs };
    }
    case 'rows': {
      sessionOf(request.session);
      return { id: request.id, tensor: keep(request.session, batchRows(keptTensor(request.kept), request.from, request.to)) };
    }
    case 'release': {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      for (const [id, entry] of kept) if (entry.session === request.session) kept.delete(id);
      await session?.release();
      return { id: request.id };
    }
    case 'peak': {
      const peak = peakRssBytes();
      if (request.reset) resetPeakRss();
      return { id: request.id, peakRssBytes: peak };
    }
  }
}

function sessionOf(id: number): InferenceSession {
  const session = sessions.get(id);
  if (!session) throw new Error(`no onnxruntime session ${id} (released)`);
  return session;
}

// The parent closed the channel or died: nothing is left to answer to (onnxruntime's threads would keep us alive).
process.on('disconnect', () => process.exit(0));
// ...and when the parent was SIGKILLed while this process's main thread is busy (no 'disconnect' then).
watchParent();

process.on('message', (request: OnnxRequest) => {
  answer(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies OnnxAnswer),
  );
});
