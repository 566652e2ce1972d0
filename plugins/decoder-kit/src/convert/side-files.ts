/**
 * Everything beside the weights: config, generation config, tokenizer and license files, copied through (they
 * are small). config.json changes only when the weights' dtype does. Each group becomes one component report.
 */
import { copyFile, lstat, readFile, writeFile } from 'node:fs/promises';
import { safeJoin, type ComponentReport, type ModelConfig, type TargetDtype } from '../../../../src/index.js';

const TORCH_NAMES: Record<TargetDtype, string> = { bf16: 'bfloat16', f16: 'float16', f32: 'float32' };

/**
 * Tokenizer files of decoder repos (Qwen: reference §5; vocab.json/merges.txt duplicate tokenizer.json but are
 * kept for slow tokenizers; tokenizer.model is the SentencePiece model of Llama-style repos).
 */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
];
export const LICENSE_FILES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'NOTICE', 'NOTICE.txt'];
export const GENERATION_CONFIG = 'generation_config.json';

export async function writeConfig(
  rawDir: string,
  outDir: string,
  fallback: ModelConfig,
  change: { from?: TargetDtype; to?: TargetDtype; dequantized?: boolean },
  /** The family's edits of the published config (DecoderFamily.editPublishedConfig): a note per change. */
  edit?: (config: ModelConfig) => string[],
): Promise<ComponentReport> {
  const source = safeJoin(rawDir, 'config.json');
  const target = safeJoin(outDir, 'config.json');
  const present = await isFile(source);
  const changed = change.to !== undefined && (change.to !== change.from || change.dequantized === true);
  const config = present ? (JSON.parse(await readFile(source, 'utf8')) as ModelConfig) : structuredClone(fallback);
  const edits = edit ? edit(config) : [];
  if (present && !changed && edits.length === 0) {
    await copyFile(source, target);
    return { component: 'config', status: 'ok', detail: 'config.json copied', warnings: [] };
  }
  let detail = present ? 'config.json copied' : 'config.json written from the resolved plan';
  if (changed) {
    const name = TORCH_NAMES[change.to!];
    // Update the spelling(s) the file uses; a file with neither gets both (old and new transformers read one each).
    const keys = ['torch_dtype', 'dtype'].filter((k) => k in config);
    for (const key of keys.length > 0 ? keys : ['torch_dtype', 'dtype']) config[key] = name;
    // Composite configs (the Qwen3.5 wrappers) say the dtype in text_config too: keep the two in step.
    const text = config.text_config;
    if (typeof text === 'object' && text !== null && !Array.isArray(text)) {
      for (const key of ['torch_dtype', 'dtype']) if (key in text) (text as Record<string, unknown>)[key] = name;
    }
    detail = `config.json ${keys.length > 0 ? keys.join('/') : 'torch_dtype/dtype'} set to ${name}`;
  }
  if (change.dequantized) {
    // The written weights are plain floats: a runtime that saw quantization_config would look for FP8 tensors.
    delete config.quantization_config;
    detail += ', quantization_config removed (weights dequantised)';
  }
  if (edits.length > 0) detail += `; ${edits.join('; ')}`;
  await writeFile(target, `${JSON.stringify(config, null, 2)}\n`);
  const warnings = present ? [] : ['config.json was not among the fetched files; written from the config the source resolved'];
  return { component: 'config', status: warnings.length ? 'warning' : 'ok', detail, warnings };
}

export async function copyGenerationConfig(rawDir: string, outDir: string): Promise<ComponentReport> {
  if (!(await isFile(safeJoin(rawDir, GENERATION_CONFIG)))) {
    return {
      component: 'generation-config',
      status: 'missing',
      detail: 'no generation_config.json',
      warnings: ['no generation_config.json: runtimes fall back to config.json for bos/eos and use their own sampling defaults'],
    };
  }
  await copyFile(safeJoin(rawDir, GENERATION_CONFIG), safeJoin(outDir, GENERATION_CONFIG));
  return { component: 'generation-config', status: 'ok', detail: 'generation_config.json copied', warnings: [] };
}

export async function copyTokenizer(rawDir: string, outDir: string): Promise<ComponentReport> {
  const copied = await copyPresent(rawDir, outDir, TOKENIZER_FILES);
  const warnings: string[] = [];
  if (copied.length === 0) {
    return {
      component: 'tokenizer',
      status: 'missing',
      detail: 'no tokenizer files',
      warnings: ['no tokenizer files (tokenizer.json, tokenizer_config.json): the model loads but cannot tokenize text'],
    };
  }
  if (!copied.includes('tokenizer_config.json')) {
    warnings.push('tokenizer_config.json missing: transformers.js loads no tokenizer at all without it');
  }
  if (!copied.includes('tokenizer.json')) {
    warnings.push('tokenizer.json missing: only slow (Python) tokenizers can be built, transformers.js cannot tokenize');
  }
  let detail = `${copied.join(', ')} copied`;
  if (copied.includes('chat_template.jinja') && copied.includes('tokenizer_config.json')) {
    if (await inlineChatTemplate(outDir)) detail += '; chat_template.jinja inlined into tokenizer_config.json';
  }
  return { component: 'tokenizer', status: warnings.length ? 'warning' : 'ok', detail, warnings };
}

export async function copyLicense(rawDir: string, outDir: string): Promise<ComponentReport> {
  const copied = await copyPresent(rawDir, outDir, LICENSE_FILES);
  if (copied.length === 0) {
    return {
      component: 'license',
      status: 'missing',
      detail: 'no LICENSE file in the repository',
      warnings: ['no LICENSE file: the license recorded in metadata comes from the model card only'],
    };
  }
  return { component: 'license', status: 'ok', detail: `${copied.join(', ')} copied`, warnings: [] };
}

/**
 * Newer saves keep the chat template in chat_template.jinja; transformers.js 4.3.1 reads it only from
 * tokenizer_config.json (reference §5), so it is inlined when the config has none.
 */
async function inlineChatTemplate(outDir: string): Promise<boolean> {
  const configFile = safeJoin(outDir, 'tokenizer_config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return false; // copied verbatim; a broken tokenizer_config.json is the tokenizer loader's to report
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config) || config.chat_template !== undefined) return false;
  config.chat_template = await readFile(safeJoin(outDir, 'chat_template.jinja'), 'utf8');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return true;
}

async function copyPresent(rawDir: string, outDir: string, names: readonly string[]): Promise<string[]> {
  const copied: string[] = [];
  for (const name of names) {
    if (!(await isFile(safeJoin(rawDir, name)))) continue;
    await copyFile(safeJoin(rawDir, name), safeJoin(outDir, name));
    copied.push(name);
  }
  return copied;
}

async function isFile(file: string): Promise<boolean> {
  try {
    // lstat: a symlink in the fetched folder is not followed (it could point anywhere on the machine).
    return (await lstat(file)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
