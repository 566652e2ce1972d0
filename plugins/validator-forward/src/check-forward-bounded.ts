/**
 * Bounded-memory mode: the model's float32 weights exceed the memory budget, so the whole graph is not opened
 * (onnxruntime, and transformers.js after it, would hold every weight at once). The adapter's layer-by-layer
 * forward computes the prompt's logits within the budget instead; the same logits checks and the same
 * reference comparison apply to them. The cache and transformers.js checks need the whole graph: skipped, saying why.
 */
import path from 'node:path';
import { isModelImportError } from '../../../src/index.js';
import { checkLogits, compareWithReference, type ForwardInput, type PromptLogits } from './check-forward.js';
import { formatBytes, formatMs } from './format.js';
import { VALIDATOR } from './name.js';

export interface BoundedInput extends ForwardInput {
  budgetBytes: number;
  float32Bytes: number;
}

/** Returns the prompt's logits when they could be computed (for the figures and the logits file). */
export async function checkForwardBounded(input: BoundedInput): Promise<PromptLogits | undefined> {
  const { subject, report, support, promptIds, figures } = input;
  const over = `float32 weights ${formatBytes(input.float32Bytes)} exceed the memory budget ${formatBytes(input.budgetBytes)}`;
  if (!support.layerwiseForward) {
    report.skip(
      VALIDATOR,
      'forward',
      `${over}, and the ${subject.claim.adapter} adapter offers no layer-by-layer forward: the forward pass was not run (raise --max-memory to run it)`,
    );
    return undefined;
  }
  const started = performance.now();
  let out;
  try {
    out = await support.layerwiseForward(path.resolve(subject.modelDir), { inputIds: [promptIds], attentionMask: [promptIds.map(() => 1)] }, { maxMemory: input.budgetBytes });
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    report.fail(VALIDATOR, 'logits', `the layer-by-layer forward failed: ${error.message}`);
    return undefined;
  }
  const ms = performance.now() - started;
  figures.layerwiseForwardMs = Math.round(ms);
  figures.logitsShape = out.dims;
  if (!checkLogits(report, 'logits', out.logits, out.dims, [1, promptIds.length], `layer by layer, ${formatMs(ms)}`)) return undefined;
  await compareWithReference(input, out.logits, out.dims);
  report.skip(VALIDATOR, 'kv-cache', `${over}: checked layer by layer, without opening the whole graph`);
  report.skip(VALIDATOR, 'transformers.js', `${over}: transformers.js would load the whole graph at once`);
  return { logits: out.logits, dims: out.dims };
}
