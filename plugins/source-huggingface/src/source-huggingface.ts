/**
 * The Hugging Face source plugin: `apply` only taps resolve, authorize and fetch, all under one NAME.
 */
import { ModelImportError, isAbortError, isModelImportError, type ModelImportPlugin } from '../../../src/index.js';
import { authorizePlan } from './authorize-plan.js';
import { fetchPlan } from './fetch-plan.js';
import { NAME } from './names.js';
import { checkOptions, type SourceHuggingfaceOptions } from './options.js';
import { resolvePlan } from './resolve-plan.js';

export function sourceHuggingface(options: SourceHuggingfaceOptions = {}): ModelImportPlugin {
  checkOptions(options);
  const frozen = Object.freeze({ ...options });
  return {
    name: NAME,
    kind: 'source',
    claims: ['huggingface'],
    apply({ hooks }) {
      hooks.resolve.tapPromise(NAME, (request, context) => resolvePlan(request, context, frozen).catch(unusableAnswer));
      hooks.authorize.tapPromise(NAME, (plan, context) => authorizePlan(plan, context, frozen).catch(unusableAnswer));
      hooks.fetch.tapPromise(NAME, (plan, context) => fetchPlan(plan, context, frozen));
    },
  };
}

/**
 * resolve and authorize interpret the hub's JSON (model info, listings, card data). A field of the wrong type or a
 * null where an object belongs surfaces as a TypeError somewhere in that reading: it is the hub's answer that is
 * wrong (exit 8), not model-import (exit 1). File-system errors go on to the kernel, which maps them.
 */
function unusableAnswer(error: unknown): never {
  if (isModelImportError(error) || isAbortError(error) || typeof (error as { code?: unknown })?.code === 'string') throw error;
  if (!(error instanceof TypeError || error instanceof SyntaxError || error instanceof RangeError)) throw error;
  throw new ModelImportError('NETWORK', `The hub's answer could not be used (${error.message}).`, {
    hint: 'Check HF_ENDPOINT (a mirror or proxy may be misbehaving); run again with --debug for details.',
    cause: error,
  });
}
