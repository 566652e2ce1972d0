/**
 * The token of a resolved plan lives here, in memory only: never in plan.data (which the kernel may print or
 * persist), never on disk. Keyed by the plan and by its `data` object, so a kernel that spreads the SourcePlan
 * into an ImportPlan (`{...plan, claim}`) still finds it.
 */
import type { SourcePlan } from '../../../src/index.js';
import type { FoundToken } from './token-discovery.js';

export interface PlanSecrets {
  token?: FoundToken;
}

const store = new WeakMap<object, PlanSecrets>();

export function rememberSecrets(plan: SourcePlan, secrets: PlanSecrets): void {
  store.set(plan, secrets);
  store.set(plan.data, secrets);
}

export function recallSecrets(plan: SourcePlan): PlanSecrets | undefined {
  return store.get(plan) ?? store.get(plan.data);
}
