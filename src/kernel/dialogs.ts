/**
 * The kernel's two questions to the user before anything is downloaded: which name the model gets when the wanted
 * one is taken (overwrite, rename, cancel), and whether the license is accepted. Each is answered by a flag or
 * the prompter; a refusal is a neutral error (CANCELLED, LICENSE_DECLINED), never a failure of a stage.
 */
import { ModelImportError } from './errors.js';
import { assertModelName, deriveModelName, findName, nextFreeName } from './model-name.js';
import type { Registry } from './registry.js';
import type { ImportPlan, StageContext } from './types.js';

/** The registry name, and whether it replaces an existing model (overwrite chosen). */
export async function chooseName(modelId: string, registry: Registry, context: StageContext): Promise<{ name: string; replace: boolean }> {
  const wanted = context.options.name ?? deriveModelName(modelId);
  const taken = Object.keys((await registry.read()).models);
  const existing = findName(wanted, taken);
  if (!existing) return { name: wanted, replace: false };
  const choice =
    context.options.onDuplicate ??
    (await context.prompter.choose({
      message: `A model named "${existing}" is already registered. What now?`,
      flag: '--on-duplicate overwrite|rename|cancel',
      choices: [
        { value: 'overwrite', label: 'Overwrite it (the old model is replaced only after the new one validated)' },
        { value: 'rename', label: `Rename the new one (proposed: ${nextFreeName(wanted, taken)})` },
        { value: 'cancel', label: 'Cancel' },
      ],
    }));
  if (choice === 'cancel') {
    throw new ModelImportError('CANCELLED', `Import cancelled: a model named "${existing}" already exists.`, {
      hint: 'Pass --on-duplicate rename or overwrite, or choose a name with --name.',
    });
  }
  if (choice === 'overwrite') {
    context.reporter.info(`The model "${existing}" will be replaced once the new import has validated.`);
    return { name: existing, replace: true };
  }
  const proposed = nextFreeName(wanted, taken);
  if (context.options.onDuplicate || !context.prompter.interactive) return { name: proposed, replace: false };
  const typed = await context.prompter.text({
    message: 'New name',
    flag: '--name',
    default: proposed,
    validate: (value) => {
      try {
        assertModelName(value);
      } catch (error) {
        return (error as Error).message;
      }
      return findName(value, taken) ? `"${value}" is taken too` : true;
    },
  });
  return { name: assertModelName(typed), replace: false };
}

export async function acknowledgeLicense(plan: ImportPlan, context: StageContext): Promise<void> {
  const license = plan.license;
  context.reporter.emit({
    type: 'license',
    modelId: plan.modelId,
    id: license?.id,
    name: license?.name,
    link: license?.link,
    excerpt: license?.excerpt,
  });
  const { yes, acceptLicense } = context.options;
  const described = license?.name ?? license?.id ?? 'unknown license';
  const accepted =
    yes ||
    acceptLicense ||
    (await context.prompter.confirm({
      message: `Do you accept the terms of the license (${described}) of ${plan.modelId}?`,
      flag: '--accept-license (or --yes)',
      default: false,
    }));
  if (!accepted) {
    throw new ModelImportError('LICENSE_DECLINED', `License of ${plan.modelId} (${described}) not accepted; nothing was downloaded.`, {
      hint: 'Read the license, then run again and accept it (or pass --accept-license).',
    });
  }
  if (yes || acceptLicense) context.reporter.info(`License accepted by ${acceptLicense ? '--accept-license' : '--yes'}.`);
  plan.licenseAcknowledgedAt = new Date().toISOString();
}
