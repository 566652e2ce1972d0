/**
 * Finds the project's config with cosmiconfig (model-import.config.ts/.mts/.js/.mjs/.cjs/.json,
 * .model-importrc(.json), or a "model-import" key in package.json) and loads TypeScript with jiti:
 * cosmiconfig's own .ts loader calls the TypeScript compiler API, which TypeScript 7 no longer exposes.
 */
import path from 'node:path';
import { ModelImportError, isModelImportError } from '../kernel/errors.js';
import { normalizeConfig, type NormalizedConfig } from './define-config.js';

export interface LoadedConfig extends NormalizedConfig {
  /** Absolute path of the config file, or undefined when none was found (defaults apply). */
  file?: string;
  /** Folder relative paths in the config are resolved from. */
  baseDir: string;
}

const MODULE = 'model-import';

async function importWithJiti(file: string): Promise<unknown> {
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { interopDefault: true, moduleCache: false });
  return jiti.import(file, { default: true });
}

export async function loadConfig(options: { cwd: string; configFile?: string }): Promise<LoadedConfig> {
  const { cosmiconfig } = await import('cosmiconfig');
  const tsLoader = async (file: string) => importWithJiti(file);
  const explorer = cosmiconfig(MODULE, {
    searchStrategy: 'project',
    searchPlaces: [
      'package.json',
      `${MODULE}.config.ts`,
      `${MODULE}.config.mts`,
      `${MODULE}.config.js`,
      `${MODULE}.config.mjs`,
      `${MODULE}.config.cjs`,
      `${MODULE}.config.json`,
      `.${MODULE}rc`,
      `.${MODULE}rc.json`,
    ],
    loaders: { '.ts': tsLoader, '.mts': tsLoader, '.js': tsLoader, '.mjs': tsLoader, '.cjs': tsLoader },
  });
  let result: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    result = options.configFile
      ? await explorer.load(path.resolve(options.cwd, options.configFile))
      : await explorer.search(options.cwd);
  } catch (error) {
    if (isModelImportError(error)) throw error;
    const where = options.configFile ? path.resolve(options.cwd, options.configFile) : 'the model-import config';
    throw new ModelImportError('CONFIG_INVALID', `Could not load ${where}: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'Fix the syntax error in the config file, or run with --debug for the full trace.',
      cause: error,
    });
  }
  if (!result) return { plugins: [], settings: {}, baseDir: options.cwd, ...defaultsMarker };
  const normalized = normalizeConfig(result.config ?? {}, result.filepath);
  return { ...normalized, file: result.filepath, baseDir: path.dirname(result.filepath) };
}

/** A config that was not found: the CLI then enables the built-in plugins. */
const defaultsMarker = { file: undefined };
