/**
 * The whole decoder graph in one onnxruntime-node session, opened with the adapter's session options.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { DecoderSignature, type Decoder, type DecoderCall, type StepResult } from './decoder-call.js';
import { inProcessSessions, type OnnxSession, type SessionHost } from './onnx-process.js';

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
      const outputs = await this.session.run(this.signature.feeds({ ...call, past }));
      results.push(this.signature.result(outputs));
    }
    return results;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
