/**
 * transformers.js check: the folder loads with AutoModelForCausalLM.from_pretrained(absolutePath) (default
 * options, no network, in the worker process) and greedy generation gives the tokens onnxruntime gave.
 */
import type { ValidationReport } from '../../../src/index.js';
import { formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import type { TransformersJsWorker } from './transformers-js-client.js';
import type { WorkerAnswer } from './transformers-js-worker.js';

export interface TransformersJsInput {
  report: ValidationReport;
  worker: TransformersJsWorker;
  /** The answer to the 'load' request, sent earlier so loading overlapped other work. */
  loading: Promise<WorkerAnswer>;
  promptIds: number[];
  /** What the onnxruntime greedy loop produced (it stops after an eos id, as generate() does). */
  expected: number[];
  timeoutMs: number;
  figures: Record<string, unknown>;
}

export async function checkTransformersJs(input: TransformersJsInput): Promise<void> {
  const { report, expected } = input;
  const loaded = await input.loading;
  if (loaded.type !== 'loaded') {
    report.fail(VALIDATOR, 'transformers.js', `from_pretrained failed: ${describe(loaded)}`);
    return;
  }
  const answer = await input.worker.ask({ type: 'generate', inputIds: input.promptIds, maxNewTokens: expected.length }, input.timeoutMs);
  if (answer.type !== 'generated') {
    report.fail(VALIDATOR, 'transformers.js', `generate failed: ${describe(answer)}`);
    return;
  }
  input.figures.transformersJs = {
    tokens: answer.tokens,
    loadMs: Math.round(loaded.loadMs),
    generateMs: Math.round(answer.generateMs),
    peakRssBytes: answer.peakRssBytes,
    loadPeakRssBytes: loaded.peakRssBytes,
  };
  const { tokens } = answer;
  const first = firstDifference(tokens, expected);
  if (first === -1) {
    report.pass(VALIDATOR, 'transformers.js', `${tokens.length} greedy tokens match; load ${formatMs(loaded.loadMs)}`);
    return;
  }
  report.fail(
    VALIDATOR,
    'transformers.js',
    `transformers.js generated [${tokens.join(', ')}], onnxruntime [${expected.join(', ')}]: first difference at new token ${first + 1}`,
    { expected, actual: tokens },
  );
}

function describe(answer: WorkerAnswer): string {
  return (answer.type === 'error' ? answer.message : `unexpected answer ${answer.type}`).split('\n')[0];
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}
