/**
 * transformers.js check: the folder loads with AutoModelForCausalLM.from_pretrained(absolutePath) (default
 * options, no network, in the worker process) and greedy generation gives the tokens onnxruntime gave.
 */
import type { ValidationReport } from '../../../src/index.js';
import { formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import type { TransformersJsWorker } from './transformers-js-client.js';

export interface TransformersJsInput {
  report: ValidationReport;
  worker: TransformersJsWorker;
  promptIds: number[];
  /** What the onnxruntime greedy loop produced (the same eos rule applies to both). */
  expected: number[];
  maxNewTokens: number;
  timeoutMs: number;
  figures: Record<string, unknown>;
}

export async function checkTransformersJs(input: TransformersJsInput): Promise<void> {
  const { report, expected } = input;
  const answer = await input.worker.ask({ type: 'generate', inputIds: input.promptIds, maxNewTokens: input.maxNewTokens }, input.timeoutMs);
  if (answer.type !== 'generated') {
    const why = answer.type === 'error' ? answer.message : `unexpected answer ${answer.type}`;
    report.fail(VALIDATOR, 'transformers.js', `from_pretrained/generate failed: ${why.split('\n')[0]}`);
    return;
  }
  input.figures.transformersJs = {
    tokens: answer.tokens,
    loadMs: Math.round(answer.loadMs),
    generateMs: Math.round(answer.generateMs),
    peakRssBytes: answer.peakRssBytes,
  };
  const { tokens } = answer;
  const first = firstDifference(tokens, expected);
  if (first === -1) {
    report.pass(VALIDATOR, 'transformers.js', `${tokens.length} greedy tokens match; load ${formatMs(answer.loadMs)}`);
    return;
  }
  report.fail(
    VALIDATOR,
    'transformers.js',
    `transformers.js generated [${tokens.join(', ')}], onnxruntime [${expected.join(', ')}]: first difference at new token ${first + 1}`,
    { expected, actual: tokens },
  );
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}
