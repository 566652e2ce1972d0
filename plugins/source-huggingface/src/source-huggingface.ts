/**
 * The Hugging Face source plugin: `apply` only taps resolve, authorize and fetch, all under one NAME.
 */
import type { ModelImportPlugin } from '../../../src/index.js';
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
      hooks.resolve.tapPromise(NAME, (request, context) => resolvePlan(request, context, frozen));
      hooks.authorize.tapPromise(NAME, (plan, context) => authorizePlan(plan, context, frozen));
      hooks.fetch.tapPromise(NAME, (plan, context) => fetchPlan(plan, context, frozen));
    },
  };
}
