/**
 * The whole decoder graph in one onnxruntime-node session, opened with the adapter's session options. The cache
 * (present.* / present_conv.* / present_recurrent.*) stays where the session lives and is fed back from there:
 * only the logits cross to the validator.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { batchRows } from './batch-rows.js';
import { DecoderSignature, type Decoder, type DecoderCall, type KvCache, type StepResult } from './decoder-call.js';
import { inProcessSessions, KeptTensor, type OnnxSession, type SessionHost } from './onnx-process.js';

export class OrtDecoder implements Decoder {
  private constructor(
    private readonly session: OnnxSession,
    private readonly signature: DecoderSignature,
    readonly createMs: number,
  ) {}

  /** `host`: where the session lives (the validator passes its onnxruntime process). */
  static async open(graphPath: string, sessionOptions: Record<string, unknown> = {}, host: SessionHost = inProcessSessions): Promise<OrtDecoder> {
    const started = performance.now();
    const session = await host.create(graphPath, sessionOptions as InferenceSession.SessionOptions);
    const createMs = performance.now() - started;
    try {
      const inputs = session.inputMetadata.flatMap((m) => (m.isTensor && m.type && m.shape ? [{ name: m.name, type: m.type, shape: m.shape }] : []));
      return new OrtDecoder(session, new DecoderSignature(inputs, session.outputNames), createMs);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get hasCache(): boolean {
    return this.signature.pastInputs.length > 0;
  }

  async run(calls: readonly DecoderCall[]): Promise<StepResult[]> {
    const results: StepResult[] = [];
    for (const call of calls) {
      const past = typeof call.past === 'number' ? results[call.past].cache : call.past;
      const outputs = await this.session.runKeeping(this.signature.feeds({ ...call, past }), this.presentNames, call.logitsRows ? { logits: call.logitsRows } : undefined);
      results.push(this.signature.result(outputs));
    }
    return results;
  }

  /** Kept tensors are cut where they are kept; tensors here (an in-process session) here. */
  async cacheRows(cache: KvCache, from: number, to: number): Promise<KvCache> {
    const entries = await Promise.all(Object.entries(cache).map(async ([name, t]) => [name, t instanceof KeptTensor ? await this.session.rows(t, from, to) : batchRows(t, from, to)] as const));
    return Object.fromEntries(entries);
  }

  private get presentNames(): string[] {
    return [...this.signature.pastToPresent.values()];
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
