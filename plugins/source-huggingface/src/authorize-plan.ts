/**
 * authorize: for our plans only. Settles the token (the one resolve found, else the usual sources, else a prompt
 * for gated/private repos), probes access with it before any download, and makes sure the license excerpt is
 * there for the kernel to show.
 */
import type { ImportPlan, StageContext } from '../../../src/index.js';
import { probeAccess, requireToken, type RepoRef } from './hub-access.js';
import { badPlan, planEndpoint } from './plan-data.js';
import { NAME } from './names.js';
import { effectiveSettings, type SourceHuggingfaceOptions } from './options.js';
import { tryLicenseExcerpt } from './resolve-plan.js';
import { explicitToken, implicitToken, implicitTokenDisabled } from './token-discovery.js';
import { recallSecrets, rememberSecrets } from './token-store.js';

export async function authorizePlan(plan: ImportPlan, context: StageContext, options: SourceHuggingfaceOptions): Promise<void> {
  if (plan.resolvedBy !== NAME) return;
  const endpoint = planEndpoint(plan);
  if (!plan.commit) throw badPlan('it has no commit');
  const ref: RepoRef = { endpoint, repoId: plan.modelId, revision: plan.revision ?? plan.commit };
  const settings = effectiveSettings(options, context);

  let secrets = recallSecrets(plan);
  if (!secrets) {
    // The plan was copied or rebuilt; look the token up again (no prompt unless the repo needs one, below).
    const explicit = explicitToken(context.options.token, options.token);
    secrets = { token: explicit ?? (implicitTokenDisabled(context.env) ? undefined : await implicitToken(context.env)) };
    rememberSecrets(plan, secrets);
  }
  if ((plan.gated || plan.private) && !secrets.token) secrets.token = await requireToken(ref, context, options.token, plan.gated === true);

  const probePath = plan.files.find((f) => f.role === 'config')?.path ?? 'config.json';
  await probeAccess(ref, plan.commit, secrets.token, context, settings, probePath);

  if (plan.license?.file && plan.license.excerpt === undefined) {
    const listed = plan.files.filter((f) => f.path === plan.license!.file);
    const excerpt = await tryLicenseExcerpt(ref, plan.commit, plan.license.file, listed, secrets.token, context, settings);
    if (excerpt !== undefined) plan.license.excerpt = excerpt;
  }
}
