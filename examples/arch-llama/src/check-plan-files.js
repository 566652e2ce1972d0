// @ts-check
/**
 * Refusals that need the file list, made before the first weight byte. Recognition sees only config.json, so an
 * adapter that converts safetensors only would otherwise learn about a pytorch_model*.bin repository after the
 * download. The authorize hook runs for every plan once the source has listed its files and before fetch; this
 * tap answers only plans this adapter claimed and never touches the network.
 */
import { ModelImportError } from 'model-import';
import { ARCHITECTURE, NAME } from './names.js';

/** @import { ImportPlan, StageContext } from 'model-import' */

/**
 * @param {ImportPlan} plan
 * @param {StageContext} context
 */
export function checkPlanFiles(plan, context) {
  if (plan.claim.adapter !== NAME) return;
  const weights = plan.files.filter((f) => f.role === 'weights' || /\.(safetensors|bin|pth?)$/.test(f.path));
  if (!weights.some((f) => f.path.endsWith('.safetensors'))) {
    const found = weights.length > 0 ? weights.slice(0, 3).map((f) => f.path).join(', ') : 'no weight files';
    throw new ModelImportError('UNSUPPORTED_VARIANT', `${ARCHITECTURE}: ${plan.modelId} has ${found}; ${NAME} converts safetensors checkpoints only.`, {
      hint: 'Pick a revision or repository that ships model.safetensors (most Hugging Face releases do).',
    });
  }
  const limit = context.options.maxShardSize;
  const big = limit === undefined ? undefined : weights.find((f) => f.size > limit);
  if (big) {
    throw new ModelImportError('USAGE', `${NAME} links the weights as they are; ${big.path} (${big.size} bytes) exceeds --max-shard-size ${limit}.`, {
      hint: 'Import without --max-shard-size.',
    });
  }
}
