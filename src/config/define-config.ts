/**
 * The shape of model-import.config.ts and its checker. `defineConfig` is what users call: it types the
 * object for their editor and rejects bad input with a message that names the entry.
 */
import { ModelImportError } from '../kernel/errors.js';
import { isPlugin, type ModelImportPlugin } from '../kernel/plugin.js';

/**
 * A plugin entry: an npm package name, a path relative to the config file, a plugin object, a
 * [name-or-path, options] pair (the module's factory is called with the options), or a falsy value
 * (skipped, for conditional plugins: `process.env.CI && './my-plugin'`).
 */
export type PluginEntry = string | ModelImportPlugin | [string, unknown] | false | null | undefined | 0 | '';

export interface ModelImportConfig {
  plugins?: PluginEntry[];
  /** Models folder, relative to the config file's folder. Default: ./models of the working directory. */
  modelsDir?: string;
  /** Hub endpoint (a mirror); HF_ENDPOINT overrides the default, this overrides HF_ENDPOINT. */
  hubEndpoint?: string;
  /** Free-form settings for plugins, passed to every stage as context.settings. */
  settings?: Record<string, unknown>;
}

export interface NormalizedConfig {
  plugins: (string | ModelImportPlugin | [string, unknown])[];
  modelsDir?: string;
  hubEndpoint?: string;
  settings: Record<string, unknown>;
}

function invalid(message: string, source?: string): never {
  throw new ModelImportError('CONFIG_INVALID', `${source ? `${source}: ` : ''}${message}`, {
    hint: 'Fix the model-import config file (see docs/plugins.md for its shape).',
  });
}

export function normalizeConfig(raw: unknown, source?: string): NormalizedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid('the config must export an object', source);
  const config = raw as Record<string, unknown>;
  const known = new Set(['plugins', 'modelsDir', 'hubEndpoint', 'settings']);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) invalid(`unknown key "${key}" (known: ${[...known].join(', ')})`, source);
  }
  const pluginsRaw = config.plugins ?? [];
  if (!Array.isArray(pluginsRaw)) invalid('"plugins" must be an array', source);
  const plugins: NormalizedConfig['plugins'] = [];
  pluginsRaw.forEach((entry: unknown, index: number) => {
    if (entry === false || entry === null || entry === undefined || entry === 0 || entry === '') return;
    if (typeof entry === 'string') {
      plugins.push(entry);
    } else if (Array.isArray(entry)) {
      if (entry.length !== 2 || typeof entry[0] !== 'string') invalid(`plugins[${index}] must be [name-or-path, options]`, source);
      plugins.push([entry[0] as string, entry[1]]);
    } else if (isPlugin(entry)) {
      plugins.push(entry);
    } else {
      invalid(`plugins[${index}] is not a plugin: expected a package name, a path, [name, options] or an object with name and apply()`, source);
    }
  });
  for (const key of ['modelsDir', 'hubEndpoint'] as const) {
    if (config[key] !== undefined && (typeof config[key] !== 'string' || (config[key] as string).length === 0)) {
      invalid(`"${key}" must be a non-empty string`, source);
    }
  }
  if (config.hubEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(config.hubEndpoint as string)) {
    invalid(`"hubEndpoint" must be an http(s) URL, got ${JSON.stringify(config.hubEndpoint)}`, source);
  }
  const settings = config.settings ?? {};
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) invalid('"settings" must be an object', source);
  return {
    plugins,
    modelsDir: config.modelsDir as string | undefined,
    hubEndpoint: config.hubEndpoint as string | undefined,
    settings: settings as Record<string, unknown>,
  };
}

/** Types a config for the editor and checks it at load time. */
export function defineConfig(config: ModelImportConfig): ModelImportConfig {
  normalizeConfig(config);
  return config;
}
