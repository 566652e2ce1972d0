/**
 * Child process that holds the validator's onnxruntime sessions. onnxruntime-node runs `InferenceSession.create`
 * and `run` synchronously on the thread that calls them, so in the CLI's own process a 1-2 s call left Ctrl-C
 * unanswered until it returned. Here the calls block only this process: the parent's event loop stays free, and
 * on Ctrl-C it kills this process (SIGKILL) and leaves at once. A worker thread would not do: process.exit joins
 * worker threads, which waits for the native call to end.
 *
 *   parent -> {id, op:'create', model: path | bytes, options}   child -> {id, session, inputMetadata, outputNames}
 *   parent -> {id, op:'run', session, feeds, fetches?}          child -> {id, outputs}
 *   parent -> {id, op:'release', session}                       child -> {id}
 *   parent -> {id, op:'peak', reset?}                           child -> {id, peakRssBytes} (reset: a new peak starts)
 *   child  -> {id, error}                                       (the parent rejects that request with it)
 *
 * Tensors cross as {type, data, dims} (structured clone, `serialization: 'advanced'`).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { simulateLongRun } from './onnx-process.js';
import { peakRssBytes, resetPeakRss } from './peak-memory.js';
import { watchParent } from './parent-watchdog.js';

export interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
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
  | { id: number; op: 'run'; session: number; feeds: Record<string, WireTensor>; fetches?: readonly string[] }
  | { id: number; op: 'release'; session: number }
  | { id: number; op: 'peak'; reset?: boolean };

export type OnnxAnswer =
  | { id: number; session: number; inputMetadata: WireMetadata[]; outputNames: string[] }
  | { id: number; outputs: Record<string, WireTensor> }
  | { id: number; peakRssBytes: number }
  | { id: number; error: string }
  | { id: number };

const sessions = new Map<number, InferenceSession>();
let nextSession = 1;

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
      const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, t]) => [name, new Tensor(t.type, t.data as never, t.dims)]));
      const produced = request.fetches ? await session.run(feeds, request.fetches) : await session.run(feeds);
      const outputs: Record<string, WireTensor> = {};
      for (const [name, tensor] of Object.entries(produced)) outputs[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
      return { id: request.id, outputs };
    }
    case 'release': {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
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
