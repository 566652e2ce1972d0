/**
 * Load and forward pass with onnxruntime-node, on the whole graph or segment by segment (bounded memory): the
 * graph opens with the adapter's session options; the prompt's logits have shape [1, seq, vocab] and are all
 * finite; a decode step through the KV cache gives the logits the full-sequence run gives at that position; on
 * models small enough for the adapter's reference forward, the logits are within the adapter's tolerance of it.
 *
 * One run of three calls serves all of it: the prompt, the prompt without its last token, and that last token
 * decoded from the shorter call's cache (compared with the prompt's last position). A segmented decoder reads
 * the weights once for the three. Greedy tokens beyond the first (for the transformers.js comparison) are
 * decoded through the cache, as transformers.js decodes.
 */
import path from 'node:path';
import {
  isModelImportError,
  safeJoin,
  type ReferenceForwardOutput,
  type ValidationReport,
  type ValidationSubject,
  type ValidationSupport,
} from '../../../src/index.js';
import { argmax, findNonFinite, maxAbsDifference, row } from './compare-logits.js';
import type { Decoder, DecoderCall, StepResult } from './decoder-call.js';
import { formatCount, formatDelta, formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import { CannotSegmentError } from './segmented-decoder.js';

export interface ForwardInput {
  subject: ValidationSubject;
  report: ValidationReport;
  support: ValidationSupport;
  promptIds: number[];
  eosIds: readonly number[];
  /** Greedy tokens to produce; 1 = only the prompt's next token. */
  maxNewTokens: number;
  parameterCount: number;
  /** The object recorded under report.figures.forward; checks add their figures to it. */
  figures: Record<string, unknown>;
  /** Opens the graph: whole, or segmented within the memory budget. */
  open(graphPath: string): Promise<Decoder>;
  /** How the graph runs, for the load figure ("session 1.2 s" / "27 segments of <= 128 MB"). */
  describe(decoder: Decoder): string;
}

export interface ForwardOutcome {
  /** The prompt's logits, [1, seq, vocab]. */
  logits: Float32Array;
  dims: [number, number, number];
  tokens: number[];
}

/** Runs the checks; returns the prompt's logits and greedy tokens, or undefined when the graph could not run. */
export async function checkForward(input: ForwardInput): Promise<ForwardOutcome | undefined> {
  const { subject, report, support, promptIds, figures } = input;
  let decoder: Decoder;
  try {
    decoder = await input.open(safeJoin(subject.modelDir, support.onnxGraph, 'onnx graph'));
  } catch (error) {
    if (error instanceof CannotSegmentError) {
      report.skip(VALIDATOR, 'forward', `the graph cannot run segment by segment within the memory budget: ${error.message}`);
    } else {
      report.fail(VALIDATOR, 'load', `${support.onnxGraph} did not load in onnxruntime: ${firstLine(error)}`);
    }
    return undefined;
  }
  report.pass(VALIDATOR, 'load', input.describe(decoder));
  try {
    const seq = promptIds.length;
    const ones = (n: number) => [Array.from({ length: n }, () => 1)];
    const calls: DecoderCall[] = [{ ids: [promptIds], mask: ones(seq) }];
    const kvCheck = decoder.hasCache && seq >= 2;
    if (kvCheck) calls.push({ ids: [promptIds.slice(0, -1)], mask: ones(seq - 1) }, { ids: [promptIds.slice(-1)], mask: ones(seq), past: 1 });

    const started = performance.now();
    const results = await runOrFail(report, 'logits', () => decoder.run(calls));
    figures.sessionCreateMs = round(decoder.createMs);
    if (!results) return undefined;
    figures.promptPassMs = round(performance.now() - started);
    const [full, , decoded] = results;
    figures.logitsShape = full.dims;
    if (!checkLogits(report, 'logits', full.logits, full.dims, [1, seq], `${calls.length} calls ${formatMs(figures.promptPassMs as number)}`)) {
      return undefined;
    }

    await compareWithReference(input, full.logits, full.dims);

    if (!decoder.hasCache) report.skip(VALIDATOR, 'kv-cache', 'the graph declares no past_key_values inputs');
    else if (!kvCheck) report.skip(VALIDATOR, 'kv-cache', 'the prompt has a single token: no prefix to cache');
    else if (!checkKvStep(input, decoded, row(full.logits, full.dims, 0, seq - 1))) return undefined;

    const tokens = await greedy(input, decoder, full);
    if (!tokens) return undefined;
    figures.greedyTokens = tokens;
    return { logits: full.logits, dims: full.dims, tokens };
  } finally {
    await decoder.release();
  }
}

/** Greedy decoding through the cache from the prompt's run, stopping after an eos id (included). */
async function greedy(input: ForwardInput, decoder: Decoder, prompt: StepResult): Promise<number[] | undefined> {
  const tokens = [argmax(row(prompt.logits, prompt.dims, 0, prompt.dims[1] - 1))];
  const length = input.promptIds.length;
  let cache = prompt.cache;
  const stepMs: number[] = [];
  while (tokens.length < input.maxNewTokens && decoder.hasCache && !input.eosIds.includes(tokens.at(-1)!)) {
    const mask = [Array.from({ length: length + tokens.length }, () => 1)];
    const started = performance.now();
    const step = await runOrFail(input.report, 'kv-cache', () => decoder.run([{ ids: [[tokens.at(-1)!]], mask, past: cache }]));
    if (!step) return undefined;
    stepMs.push(round(performance.now() - started));
    tokens.push(argmax(row(step[0].logits, step[0].dims, 0, 0)));
    cache = step[0].cache;
  }
  if (stepMs.length > 0) input.figures.decodeStepMs = stepMs;
  return tokens;
}

/** The last prompt token decoded from the prefix's cache must give the full run's last-position logits. */
function checkKvStep(input: ForwardInput, decoded: StepResult, expected: Float32Array): boolean {
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
    `decode step with the KV cache differs from the full sequence: max |Δ| ${formatDelta(diff.max)} > ${formatDelta(support.tolerance)} at [${at.join(',')}]`,
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
