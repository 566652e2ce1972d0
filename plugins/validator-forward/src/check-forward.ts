/**
 * Load and forward pass with onnxruntime-node, on the whole graph or segment by segment (bounded memory): the
 * graph opens with the adapter's session options; the prompt's logits have shape [1, seq, vocab] and are all
 * finite; a decode step through the KV cache gives the logits the full-sequence run gives at that position; on
 * models small enough for the adapter's reference forward, the logits are within the adapter's tolerance of it.
 *
 * Every call costs about the same whatever its batch (it is dominated by reading and widening the weights), so
 * the checks share two calls of batch 2:
 *   A: row 0 = the prompt; row 1 = the prompt without its last token, left-padded to the same length;
 *   B: row 0 = the first greedy token after the prompt; row 1 = the prompt's last token, both from A's cache.
 * B's row 1 must reproduce A's row 0 at the last position (cache and left padding, as transformers.js batches).
 * B's row 0 gives the second greedy token. A segmented decoder runs A and B in one pass over the weights, with a
 * placeholder for B's row 0 (the greedy tokens are only needed for the transformers.js comparison).
 */
import path from 'node:path';
import {
  isModelImportError,
  type ReferenceForwardOutput,
  type ValidationReport,
  type ValidationSubject,
  type ValidationSupport,
} from '../../../src/index.js';
import { argmax, findNonFinite, maxAbsDifference, row } from './compare-logits.js';
import type { Decoder, DecoderCall, KvCache, StepResult } from './decoder-call.js';
import { formatCount, formatDelta, formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import { CannotSegmentError } from './segmented-decoder.js';

export interface ForwardInput {
  subject: ValidationSubject;
  report: ValidationReport;
  support: ValidationSupport;
  promptIds: number[];
  eosIds: readonly number[];
  /** Greedy tokens to produce (at least 1). */
  maxNewTokens: number;
  parameterCount: number;
  /** The object recorded under report.figures.forward; checks add their figures to it. */
  figures: Record<string, unknown>;
  /** The graph being opened (started early by the caller so it overlaps other work). */
  decoder: Promise<Decoder>;
  /** Run A and B in one pass (segmented decoders): B's row 0 is then a placeholder, and one token is produced. */
  onePass: boolean;
  /** How the graph runs, for the load figure ("session 1.2 s" / "27 segments of <= 128 MB"). */
  describe(decoder: Decoder): string;
  /** Ctrl-C: checked before every step; a run under way ends when the caller's onnxruntime process is killed. */
  signal?: AbortSignal;
}

export interface ForwardOutcome {
  /** The prompt's logits, [1, seq, vocab]. */
  logits: Float32Array;
  dims: [number, number, number];
  tokens: number[];
}

/** Runs the checks; returns the prompt's logits and greedy tokens, or undefined when the graph could not run. */
export async function checkForward(input: ForwardInput): Promise<ForwardOutcome | undefined> {
  const { report, support, promptIds, figures } = input;
  let decoder: Decoder;
  report.start(VALIDATOR, 'load');
  try {
    decoder = await input.decoder;
  } catch (error) {
    input.signal?.throwIfAborted(); // Ctrl-C killed the onnxruntime process: not a finding
    if (error instanceof CannotSegmentError) {
      report.skip(VALIDATOR, 'forward', `the graph cannot run segment by segment within the memory budget: ${error.message}`);
    } else {
      report.fail(VALIDATOR, 'load', `${support.onnxGraph} did not load in onnxruntime: ${firstLine(error)}`);
    }
    return undefined;
  }
  report.pass(VALIDATOR, 'load', input.describe(decoder));
  const step = () => input.signal?.throwIfAborted();
  try {
    step();
    const seq = promptIds.length;
    const kvCheck = decoder.hasCache && seq >= 2;
    const last = promptIds[seq - 1];
    // Row 1, the left-padded prefix, is there for its cache: its logits are never read.
    const a: DecoderCall = kvCheck
      ? { ids: [promptIds, [promptIds[0], ...promptIds.slice(0, -1)]], mask: [ones(seq), [0, ...ones(seq - 1)]], logitsRows: [0, 1] }
      : { ids: [promptIds], mask: [ones(seq)] };
    const b = (next: number, past: KvCache | number): DecoderCall => ({ ids: [[next], [last]], mask: [ones(seq + 1), [0, ...ones(seq)]], past });

    report.start(VALIDATOR, 'logits');
    const started = performance.now();
    let results = await runOrFail(input, 'logits', () => decoder.run(input.onePass && kvCheck ? [a, b(last, 0)] : [a]));
    if (!results) return undefined;
    const prompt = rowsOf(results[0], 0, 1);
    const tokens = [argmax(row(prompt.logits, prompt.dims, 0, seq - 1))];
    if (kvCheck && results.length === 1) {
      step();
      const more = await runOrFail(input, 'logits', () => decoder.run([b(tokens[0], results![0].cache)]));
      if (!more) return undefined;
      results = [...results, ...more];
    }
    figures.promptPassMs = round(performance.now() - started);
    figures.sessionCreateMs = round(decoder.createMs);
    figures.logitsShape = prompt.dims;
    if (!checkLogits(report, 'logits', prompt.logits, prompt.dims, [1, seq], `${formatMs(figures.promptPassMs as number)}`)) return undefined;

    step();
    await compareWithReference(input, prompt.logits, prompt.dims);
    step();

    if (!decoder.hasCache) report.skip(VALIDATOR, 'kv-cache', 'the graph declares no past_key_values inputs');
    else if (!kvCheck) report.skip(VALIDATOR, 'kv-cache', 'the prompt has a single token: no prefix to cache');
    else if (!checkKvStep(input, rowsOf(results[1], 1, 2), row(prompt.logits, prompt.dims, 0, seq - 1))) return undefined;

    const eos = (token: number) => input.eosIds.includes(token);
    if (kvCheck && !input.onePass && input.maxNewTokens > 1 && !eos(tokens[0])) {
      const next = rowsOf(results[1], 0, 1);
      tokens.push(argmax(next.logits));
      if (!(await greedy(input, decoder, tokens, await decoder.cacheRows(results[1].cache, 0, 1)))) return undefined;
    }
    figures.greedyTokens = tokens;
    return { logits: prompt.logits, dims: prompt.dims, tokens };
  } finally {
    await decoder.release();
  }
}

/** Continues greedy decoding through the cache (batch 1), stopping after an eos id (included). Appends to tokens. */
async function greedy(input: ForwardInput, decoder: Decoder, tokens: number[], start: KvCache): Promise<boolean> {
  let cache = start;
  const stepMs: number[] = [];
  while (tokens.length < input.maxNewTokens && !input.eosIds.includes(tokens.at(-1)!)) {
    input.signal?.throwIfAborted();
    const started = performance.now();
    const mask = [ones(input.promptIds.length + tokens.length)];
    const step = await runOrFail(input, 'logits', () => decoder.run([{ ids: [[tokens.at(-1)!]], mask, past: cache }]));
    if (!step) return false;
    stepMs.push(round(performance.now() - started));
    tokens.push(argmax(step[0].logits));
    cache = step[0].cache;
  }
  if (stepMs.length > 0) input.figures.decodeStepMs = stepMs;
  return true;
}

/** Rows [from, to) of a batched result's logits (its cache, when needed: Decoder.cacheRows). */
function rowsOf(result: StepResult, from: number, to: number): Pick<StepResult, 'logits' | 'dims'> {
  const [batch, seq, vocab] = result.dims;
  if (from === 0 && to === batch) return result;
  return { logits: result.logits.slice(from * seq * vocab, to * seq * vocab), dims: [to - from, seq, vocab] };
}

const ones = (n: number): number[] => Array.from({ length: n }, () => 1);

/** The last prompt token decoded from the (left-padded) prefix's cache must give the full run's last-position logits. */
function checkKvStep(input: ForwardInput, decoded: Pick<StepResult, 'logits' | 'dims'>, expected: Float32Array): boolean {
  const { report, support, figures } = input;
  if (!checkLogits(report, 'kv-cache', decoded.logits, decoded.dims, [1, 1], 'decode step')) return false;
  const diff = maxAbsDifference(decoded.logits, expected, [1, 1, decoded.dims[2]]);
  figures.kvCacheMaxAbsDiff = diff.max;
  if (diff.max <= support.tolerance) {
    report.pass(VALIDATOR, 'kv-cache', `max |Δ| ${formatDelta(diff.max)}`);
    return true;
  }
  const at = [0, input.promptIds.length - 1, diff.at[2]];
  report.fail(
    VALIDATOR,
    'kv-cache',
    `decode step with the KV cache (left-padded row) differs from the full sequence: max |Δ| ${formatDelta(diff.max)} > ${formatDelta(support.tolerance)} at [${at.join(',')}]`,
    { expected: support.tolerance, actual: diff.max },
  );
  return false;
}

/** Compares [1, seq, vocab] logits with the adapter's reference forward when the model is small enough for it. */
async function compareWithReference(input: ForwardInput, logits: Float32Array, dims: [number, number, number]): Promise<void> {
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
  report.start(VALIDATOR, 'reference');
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

/** Shape [batch, seq, *] and every value finite; adds a failure (or, for 'logits', the pass figure). */
function checkLogits(
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

async function runOrFail<T>({ report, signal }: ForwardInput, check: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    signal?.throwIfAborted(); // Ctrl-C killed the onnxruntime process: not a finding
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
