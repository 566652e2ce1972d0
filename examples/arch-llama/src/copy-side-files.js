// @ts-check
/**
 * Everything beside the weights and config.json, copied as it is (small files): generation_config.json, the
 * tokenizer and the license. Each group becomes one component report, with a warning when something a runtime
 * needs is absent.
 */
import { copyFile, lstat } from 'node:fs/promises';
import { safeJoin } from 'model-import';

/** @import { ComponentReport } from 'model-import' */

/** Llama repos: a fast tokenizer (tokenizer.json), and for Llama 1/2 the SentencePiece model too. */
export const TOKENIZER_FILES = Object.freeze([
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
]);

/** Llama 2/3 repos ship LICENSE (or LICENSE.txt) and USE_POLICY.md; both are part of the terms. */
export const LICENSE_FILES = Object.freeze(['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'USE_POLICY.md', 'NOTICE', 'NOTICE.txt']);

/**
 * @param {string} rawDir
 * @param {string} outDir
 * @returns {Promise<ComponentReport[]>}
 */
export async function copySideFiles(rawDir, outDir) {
  return [
    await copyGroup(rawDir, outDir, 'generation-config', ['generation_config.json'], (copied) =>
      copied.length === 0 ? ['no generation_config.json: runtimes fall back to config.json for bos/eos and use their own sampling defaults'] : []),
    await copyGroup(rawDir, outDir, 'tokenizer', TOKENIZER_FILES, (copied) => {
      if (copied.length === 0) return ['no tokenizer files: the model loads but cannot tokenize text'];
      const warnings = [];
      if (!copied.includes('tokenizer_config.json')) warnings.push('tokenizer_config.json missing: transformers.js loads no tokenizer without it');
      if (!copied.includes('tokenizer.json') && !copied.includes('tokenizer.model')) warnings.push('neither tokenizer.json nor tokenizer.model: no tokenizer can be built');
      return warnings;
    }),
    await copyGroup(rawDir, outDir, 'license', LICENSE_FILES, (copied) =>
      copied.length === 0 ? ['no LICENSE file: the license recorded in metadata comes from the model card only'] : []),
  ];
}

/**
 * @param {string} rawDir
 * @param {string} outDir
 * @param {string} component
 * @param {readonly string[]} names
 * @param {(copied: string[]) => string[]} judge warnings for what was (not) found
 * @returns {Promise<ComponentReport>}
 */
async function copyGroup(rawDir, outDir, component, names, judge) {
  /** @type {string[]} */
  const copied = [];
  for (const name of names) {
    if (!(await isFile(safeJoin(rawDir, name)))) continue;
    await copyFile(safeJoin(rawDir, name), safeJoin(outDir, name));
    copied.push(name);
  }
  const warnings = judge(copied);
  if (copied.length === 0) return { component, status: 'missing', detail: `none of ${names.join(', ')}`, warnings };
  return { component, status: warnings.length > 0 ? 'warning' : 'ok', detail: `${copied.join(', ')} copied`, warnings };
}

/**
 * lstat: a symlink among the fetched files is not followed (it could point anywhere on the machine).
 * @param {string} file
 */
async function isFile(file) {
  try {
    return (await lstat(file)).isFile();
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return false;
    throw error;
  }
}
