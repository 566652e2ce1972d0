/**
 * Turns the config's plugin entries into plugin objects: built-in names, paths relative to the config file
 * (TypeScript too, through jiti), npm packages resolved from the config's folder, or objects as they are.
 * A module may export a plugin, or a factory that returns one (called with the entry's options).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelImportError } from '../kernel/errors.js';
import { isPlugin, type ModelImportPlugin } from '../kernel/plugin.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import type { NormalizedConfig } from './define-config.js';

export interface ResolvedPlugin {
  plugin: ModelImportPlugin;
  origin: string;
}

function loadFailed(spec: string, why: string, cause?: unknown): ModelImportError {
  return new ModelImportError('PLUGIN_LOAD_FAILED', `Could not load plugin "${spec}": ${why}`, {
    hint: 'Check the plugins list of your model-import config: install the package, or fix the path.',
    cause,
  });
}

function pluginFrom(spec: string, exported: unknown, options: unknown): ModelImportPlugin {
  const module = exported as Record<string, unknown> | undefined;
  const candidates = [module?.default, module?.plugin, module];
  for (const candidate of candidates) {
    if (isPlugin(candidate)) return candidate;
    if (typeof candidate === 'function') {
      const made = (candidate as (o: unknown) => unknown)(options);
      if (isPlugin(made)) return made;
      throw loadFailed(spec, 'its default export is a function that did not return a plugin ({ name, apply }).');
    }
  }
  throw loadFailed(spec, 'it exports no plugin: export default a plugin object ({ name, apply }) or a factory returning one.');
}

/**
 * This running copy of model-import's public entry point. A plugin's `import ... from 'model-import'` is
 * pointed here: a plugin installed as a symlinked folder (what `npm install ./folder` makes) would otherwise
 * resolve it from its own real path and find nothing, or another copy of the kernel.
 */
const SELF_ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));

/**
 * The public sub-entries a third-party plugin may import the same way ('model-import/decoder-kit', ...), each
 * pointed at this copy. Listed before the bare name: an alias also matches as a path prefix.
 */
const SELF_ALIASES: Record<string, string> = {
  'model-import/decoder-kit/testing': fileURLToPath(new URL('../../plugins/decoder-kit/testing.js', import.meta.url)),
  'model-import/decoder-kit': fileURLToPath(new URL('../../plugins/decoder-kit/index.js', import.meta.url)),
  'model-import': SELF_ENTRY,
};

async function importModule(file: string): Promise<unknown> {
  const { createJiti } = await import('jiti');
  return createJiti(import.meta.url, { interopDefault: false, alias: SELF_ALIASES }).import(file);
}

async function loadOne(spec: string, options: unknown, baseDir: string): Promise<ResolvedPlugin> {
  const builtin = BUILTIN_PLUGINS[spec];
  if (builtin) {
    let factory;
    try {
      factory = await builtin();
    } catch (error) {
      throw loadFailed(spec, `the built-in plugin failed to load: ${(error as Error).message.split('\n')[0]}`, error);
    }
    return { plugin: pluginFrom(spec, factory, options), origin: 'built-in' };
  }
  const isPath = spec.startsWith('.') || path.isAbsolute(spec);
  let file: string;
  try {
    const require = createRequire(path.join(baseDir, 'noop.js'));
    file = isPath ? resolvePath(path.resolve(baseDir, spec), require) : require.resolve(spec);
  } catch (error) {
    throw loadFailed(spec, isPath ? `no such file or folder (${path.resolve(baseDir, spec)}).` : 'package not found from ' + baseDir + '.', error);
  }
  let exported: unknown;
  try {
    exported = await importModule(file);
  } catch (error) {
    throw loadFailed(spec, `importing ${file} failed: ${(error as Error).message.split('\n')[0]}`, error);
  }
  return { plugin: pluginFrom(spec, exported, options), origin: isPath ? `path ${file}` : `package ${spec}` };
}

/** A folder resolves like a package (package.json main/exports), else its index.ts / index.js. */
function resolvePath(target: string, require: NodeJS.Require): string {
  for (const candidate of [target, `${target}.ts`, `${target}/index.ts`, `${target}/index.js`]) {
    try {
      return require.resolve(candidate);
    } catch {
      // try the next spelling
    }
  }
  return require.resolve(target);
}

export async function loadPlugins(config: NormalizedConfig & { baseDir: string }): Promise<ResolvedPlugin[]> {
  const resolved: ResolvedPlugin[] = [];
  for (const entry of config.plugins) {
    if (typeof entry === 'string') resolved.push(await loadOne(entry, undefined, config.baseDir));
    else if (Array.isArray(entry)) resolved.push(await loadOne(entry[0], entry[1], config.baseDir));
    else resolved.push({ plugin: entry, origin: 'object' });
  }
  return resolved;
}
