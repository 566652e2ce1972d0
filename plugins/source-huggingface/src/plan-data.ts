/** What this plugin keeps in `plan.data` (the endpoint; never a secret), read back defensively. */
import { ModelImportError, type SourcePlan } from '../../../src/index.js';

export function planEndpoint(plan: SourcePlan): string {
  const endpoint = plan.data.endpoint;
  if (typeof endpoint !== 'string' || !/^https?:\/\//.test(endpoint)) throw badPlan('plan.data.endpoint is missing');
  return endpoint;
}

export function badPlan(why: string): ModelImportError {
  return new ModelImportError('INTERNAL', `The Hugging Face plan handed back to source-huggingface is unusable: ${why}.`, {
    hint: 'A plugin changed the plan between resolve and fetch; report it.',
  });
}
