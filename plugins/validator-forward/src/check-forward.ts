/**
 * Load and forward pass with onnxruntime-node (full mode): the graph opens with the adapter's session options;
 * the prompt's logits have shape [1, seq, vocab] and are all finite; one decode step through the KV cache gives
 * the logits a full-sequence run gives at that position; on models small enough for the adapter's reference
 * forward, the logits are within the adapter's tolerance of it. Greedy tokens (decoded through the cache, as
 * transformers.js decodes) are returned for the transformers.js comparison.
 */
import path from 'node:path';
import {
  isModelImportError,
  safeJoin,
  type ReferenceForwardOutput,
  type ValidationReport,
  type ValidationSubject,
} from '../../../src/index.js';
import { argmax, findNonFinite, maxAbsDifference, row, type Difference } from './compare-logits.js';
import { formatCount, formatDelta, formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import { OrtDecoder, type KvCache } from './ort-decoder.js';
import type { SupportWithLayerwise } from './validation-support.js';

export interface ForwardInput {
  subject: ValidationSubject;
  report: ValidationReport;
  support: SupportWithLayerwise;
  promptIds: number[];
  eosIds: readonly number[];
  maxNewTokens: number;
  parameterCount: number;
  /** The object recorded under report.figures.forward; checks add their figures to it. */
  figures: Record<string, unknown>;
}

export interface PromptLogits {
  logits: Float32Array;
  dims: [number, number, number];
}

/** Runs the onnxruntime checks; returns the prompt's logits and the greedy tokens, or undefined when the graph could not run. */
export async function checkForwardFull(input: ForwardInput): Promise<(PromptLogits & { tokens: number[] }) | undefined> {
  const { subject, report, support, promptIds, figures } = input;
  const graphPath = safeJoin(subject.modelDir, support.onnxGraph, 'onnx graph');
  let decoder: OrtDecoder;
  try {
    decoder = await OrtDecoder.open(graphPath, support.sessionOptions);
  } catch (error) {
    report.fail(VALIDATOR, 'load', `${support.onnxGraph} did not load in onnxruntime: ${firstLine(error)}`);
    return undefined;
  }
  figures.sessionCreateMs = round(decoder.createMs);
  report.pass(VALIDATOR, 'load', `onnxruntime, session ${formatMs(decoder.createMs)}`);
  try {
    const ones = (n: number) => [Array.from({ length: n }, () => 1)];
    const seq = promptIds.length;

    const full = await runOrFail(report, 'logits', () => decoder.step([promptIds], ones(seq)));
    if (!full) return undefined;
    figures.forwardMs = round(full.ms);
    figures.logitsShape = full.dims;
    if (!checkLogits(report, 'logits', full.logits, full.dims, [1, seq], `ONNX logits, ${formatMs(full.ms)}`)) return undefined;

    await compareWithReference(input, full.logits, full.dims);

    // Greedy decoding through the cache; the first decode step is also checked against a full-sequence run.
    const tokens: number[] = [];
    const ids = [...promptIds];
    const decodeMs: number[] = [];
    let last = row(full.logits, full.dims, 0, seq - 1);
    let cache: KvCache = full.cache;
    for (;;) {
      const next = argmax(last);
      tokens.push(next);
      ids.push(next);
      const more = tokens.length < input.maxNewTokens && !input.eosIds.includes(next);
      const kvCheck = tokens.length === 1 && decoder.hasCache;
      if (!more && !kvCheck) break;
      const decoded = decoder.hasCache
        ? await runOrFail(report, 'kv-cache', () => decoder.step([[next]], ones(ids.length), cache))
        : await runOrFail(report, 'logits', () => decoder.step([ids], ones(ids.length)));
      if (!decoded) return undefined;
      decodeMs.push(decoded.ms);
      if (kvCheck && !(await checkKvStep(input, decoder, ids, decoded.logits, decoded.dims))) return undefined;
      if (!more) break;
      last = row(decoded.logits, decoded.dims, 0, decoded.dims[1] - 1);
      cache = decoded.cache;
    }
    if (!decoder.hasCache) report.skip(VALIDATOR, 'kv-cache', 'the graph declares no past_key_values inputs');
    figures.decodeStepMs = decodeMs.map(round);
    figures.greedyTokens = tokens;
    return { logits: full.logits, dims: full.dims, tokens };
  } finally {
    await decoder.release();
  }
}

/** One decode step through the cache against a full run over the same tokens: same logits at the last position. */
async function checkKvStep(input: ForwardInput, decoder: OrtDecoder, ids: number[], logits: Float32Array, dims: [number, number, number]): Promise<boolean> {
  const { report, support, figures } = input;
  if (!checkLogits(report, 'kv-cache', logits, dims, [1, 1], 'decode step')) return false;
  const full = await runOrFail(report, 'kv-cache', () => decoder.step([ids], [ids.map(() => 1)]));
  if (!full) return false;
  const position = ids.length - 1;
  const expected = row(full.logits, full.dims, 0, position);
  const diff = maxAbsDifference(logits, expected, [1, 1, dims[2]]);
  const at: Difference['at'] = [0, position, diff.at[2]];
  figures.kvCacheMaxAbsDiff = diff.max;
  if (diff.max <= support.tolerance) {
    report.pass(VALIDATOR, 'kv-cache', `max |Δ| ${formatDelta(diff.max)}`);
    return true;
  }
  report.fail(
    VALIDATOR,
    'kv-cache',
    `decode step with the KV cache differs from the full sequence: max |Δ| ${formatDelta(diff.max)} > ${formatDelta(support.tolerance)} at [${at.join(',')}]`,
    { expected: support.tolerance, actual: diff.max },
  );
  return false;
}

/** Compares [1, seq, vocab] logits with the adapter's reference forward when the model is small enough for it. */
export async function compareWithReference(input: ForwardInput, logits: Float32Array, dims: [number, number, number]): Promise<void> {
  const { subject, report, support, promptIds, parameterCount, figures } = input;
  if (!support.referenceForward) {
    report.skip(VALIDATOR, 'reference', `the ${subject.claim.adapter} adapter offers no reference forward`);
    return;
  }
  if (parameterCount > support.maxReferenceParameters) {
    report.skip(
      VALIDATOR,
      'reference',
      `${formatCount(parameterCount)} parameters, above the reference forward's limit of ${formatCount(support.maxReferenceParameters)}`,
    );
    return;
  }
  const started = performance.now();
  let reference: ReferenceForwardOutput;
  try {
    reference = await support.referenceForward(path.resolve(subject.modelDir), { inputIds: [promptIds], attentionMask: [promptIds.map(() => 1)] });
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    report.fail(VALIDATOR, 'reference', `the reference forward failed: ${error.message}`);
    return;
  }
  figures.referenceMs = round(performance.now() - started);
  if (reference.dims.join() !== dims.join()) {
    report.fail(VALIDATOR, 'reference', `reference logits have shape [${reference.dims.join(', ')}], the graph's [${dims.join(', ')}]`);
    return;
  }
  const diff = maxAbsDifference(logits, reference.logits, dims);
  figures.referenceMaxAbsDiff = diff.max;
  if (diff.max <= support.tolerance) {
    report.pass(VALIDATOR, 'reference', `max |Δ| ${formatDelta(diff.max)} ≤ ${formatDelta(support.tolerance)}`);
    return;
  }
  report.fail(
    VALIDATOR,
    'reference',
    `logits differ from reference: max |Δ| ${formatDelta(diff.max)} > ${formatDelta(support.tolerance)} at [${diff.at.join(',')}]`,
    { expected: support.tolerance, actual: diff.max },
  );
}

/** Shape [batch, seq, *] and every value finite; adds a failure (or the pass figure) under `check`. */
export function checkLogits(
  report: ValidationReport,
  check: string,
  logits: Float32Array,
  dims: [number, number, number],
  expected: [number, number],
  passFigure: string,
): boolean {
  if (dims[0] !== expected[0] || dims[1] !== expected[1] || !(dims[2] > 0) || logits.length !== dims[0] * dims[1] * dims[2]) {
    report.fail(VALIDATOR, check, `logits have shape [${dims.join(', ')}], expected [${expected.join(', ')}, vocab]`);
    return false;
  }
  const bad = findNonFinite(logits, dims);
  if (bad.count > 0 && bad.first) {
    report.fail(VALIDATOR, check, `${formatCount(bad.count)} logits are not finite, the first ${bad.first.value} at [${bad.first.at.join(',')}]`);
    return false;
  }
  if (check === 'logits') report.pass(VALIDATOR, check, `[${dims.join(', ')}] finite; ${passFigure}`);
  return true;
}

async function runOrFail<T>(report: ValidationReport, check: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    report.fail(VALIDATOR, check, `onnxruntime run failed: ${firstLine(error)}`);
    return undefined;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
