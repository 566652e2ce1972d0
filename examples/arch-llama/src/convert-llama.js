// @ts-check
/**
 * The convert tap: the fetched files in job.rawDir -> the local format in job.outDir. Writes only inside outDir
 * (the kernel renames it to models/<name>/ after validation).
 *
 * The local format of a Llama model is its Hugging Face checkpoint as it is: safetensors with Hugging Face
 * tensor names, config, tokenizer, license. So nothing is rewritten: the checkpoint is checked against
 * config.json (every tensor, every shape) and its files are hard-linked. No ONNX graph is written.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { ModelImportError, safeJoin } from 'model-import';
import { readLlamaConfig } from './read-llama-config.js';
import { readCheckpoint } from './read-checkpoint.js';
import { checkInventory } from './check-inventory.js';
import { elementCount } from './llama-tensors.js';
import { linkWeights } from './link-weights.js';
import { copySideFiles } from './copy-side-files.js';
import { NAME } from './names.js';

/** @import { ComponentReport, ConvertJob, ConvertResult, ModelConfig, StageContext } from 'model-import' */
/** @import { ArchLlamaOptions } from './arch-llama.js' */

const LOWER = /** @type {Record<string, string>} */ ({ BF16: 'bf16', F16: 'f16', F32: 'f32' });

/**
 * @param {ConvertJob} job
 * @param {StageContext} context
 * @param {ArchLlamaOptions} options
 * @returns {Promise<ConvertResult>}
 */
export async function convertLlama(job, context, options) {
  const { rawDir, outDir } = job;
  const { reporter, signal } = context;
  /** @type {ComponentReport[]} */
  const components = [];
  /** @param {ComponentReport} component */
  const report = (component) => {
    components.push(component);
    reporter.component(component);
  };

  // The fetched config.json is what gets registered, so it is the one checked (the plan's came from resolve).
  const config = await readFetchedConfig(rawDir);
  const { dims } = readLlamaConfig(config, options);
  await mkdir(outDir, { recursive: true });

  const checkpoint = await readCheckpoint(rawDir);
  const inventory = checkInventory(dims, checkpoint.tensors);
  refuseRewrites(context, inventory.dtypes, checkpoint.shards);

  signal.throwIfAborted();
  const { copied } = await linkWeights(rawDir, outDir, checkpoint.files, reporter, signal);
  const warnings = [...checkpoint.warnings, ...inventory.warnings];
  if (copied.length > 0) warnings.push(`${copied.length} weight file(s) copied instead of hard-linked: the models folder is on another device than the staging folder`);
  const parameterCount = inventory.kept.reduce((n, t) => n + elementCount(t.shape), 0);
  const dtype = LOWER[inventory.dtype] ?? inventory.dtype.toLowerCase();
  const how = copied.length > 0 ? 'copied' : 'linked (no copy)';
  const extras = inventory.extras.length > 0 ? `; ${inventory.extras.length} extra tensor(s) left in place` : '';
  report({
    component: 'weights',
    status: warnings.length > 0 ? 'warning' : 'ok',
    detail: `${inventory.kept.length} tensors, ${dtype}, ${checkpoint.shards.length} file(s) ${how}${extras}`,
    warnings,
  });

  await copyFile(safeJoin(rawDir, 'config.json'), safeJoin(outDir, 'config.json'));
  report({ component: 'config', status: 'ok', detail: 'config.json copied', warnings: [] });
  for (const component of await copySideFiles(rawDir, outDir)) report(component);

  return {
    components,
    parameterCount,
    dtype,
    details: {
      weights: copied.length > 0 ? 'copied' : 'linked',
      files: checkpoint.files,
      tensors: inventory.kept.length,
      onnx: false,
    },
  };
}

/**
 * @param {string} rawDir
 * @returns {Promise<ModelConfig>}
 */
async function readFetchedConfig(rawDir) {
  let text;
  try {
    text = await readFile(safeJoin(rawDir, 'config.json'), 'utf8');
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error;
    throw new ModelImportError('CONVERSION_FAILED', 'config.json was not among the fetched files', {
      hint: 'The source delivered no config.json; a model cannot be loaded without it.',
    });
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelImportError('BAD_INPUT', `config.json is not valid JSON (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ModelImportError('BAD_INPUT', 'config.json is not a JSON object');
  return parsed;
}

/**
 * The weights are linked as they are, so --dtype and --max-shard-size can only be honoured when they already hold.
 * @param {StageContext} context
 * @param {readonly string[]} dtypes
 * @param {readonly { file: string, size: number }[]} shards
 */
function refuseRewrites(context, dtypes, shards) {
  const wanted = context.options.dtype;
  if (wanted !== undefined && (dtypes.length !== 1 || LOWER[dtypes[0]] !== wanted)) {
    throw new ModelImportError('USAGE', `${NAME} links the weights as they are (${dtypes.join(', ')}); --dtype ${wanted} would need rewriting them.`, {
      hint: 'Import without --dtype.',
    });
  }
  const limit = context.options.maxShardSize;
  const big = limit === undefined ? undefined : shards.find((s) => s.size > limit);
  if (big) {
    throw new ModelImportError('USAGE', `${NAME} links the weights as they are; ${big.file} (${big.size} bytes) exceeds --max-shard-size ${limit}.`, {
      hint: 'Import without --max-shard-size.',
    });
  }
}
