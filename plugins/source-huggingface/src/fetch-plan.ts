/** fetch: answers only plans this plugin resolved, with the token resolve/authorize settled (memory only). */
import type { FetchContext, FetchResult, ImportPlan } from '../../../src/index.js';
import { downloadFiles } from './download-files.js';
import { NAME } from './names.js';
import { effectiveSettings, type SourceHuggingfaceOptions } from './options.js';
import { badPlan, planEndpoint } from './plan-data.js';
import { explicitToken, implicitToken, implicitTokenDisabled } from './token-discovery.js';
import { recallSecrets } from './token-store.js';

export async function fetchPlan(plan: ImportPlan, context: FetchContext, options: SourceHuggingfaceOptions): Promise<FetchResult | undefined> {
  if (plan.resolvedBy !== NAME) return undefined;
  const endpoint = planEndpoint(plan);
  if (!plan.commit) throw badPlan('it has no commit');
  let token = recallSecrets(plan)?.token;
  if (!token && !recallSecrets(plan)) {
    // The plan lost its secrets (copied); never prompt here: authorize already ran and settled access.
    const explicit = explicitToken(context.options.token, options.token);
    const implicitAllowed = !implicitTokenDisabled(context.env) || plan.gated || plan.private;
    token = explicit ?? (implicitAllowed ? await implicitToken(context.env) : undefined);
  }
  return downloadFiles({
    plan,
    ref: { endpoint, repoId: plan.modelId, revision: plan.revision ?? plan.commit },
    commit: plan.commit,
    token,
    context,
    settings: effectiveSettings(options, context),
  });
}
