/**
 * What every command needs: the config, the kernel with its plugins, the models folder, the user's voice.
 */
import path from 'node:path';
import { Kernel } from '../kernel/kernel.js';
import { Reporter } from '../kernel/reporter.js';
import { NonInteractivePrompter, type Prompter } from '../kernel/prompter.js';
import { loadConfig, type LoadedConfig } from '../config/load-config.js';
import { loadPlugins } from '../config/load-plugins.js';
import { DEFAULT_PLUGINS } from '../config/builtin-plugins.js';
import { TtyPrompter } from './tty-prompter.js';

export interface GlobalArgs {
  config?: string;
  modelsDir?: string;
  json?: boolean;
  debug?: boolean;
}

export interface Session {
  config: LoadedConfig;
  kernel: Kernel;
  modelsDir: string;
  reporter: Reporter;
  prompter: Prompter;
  settings: Record<string, unknown>;
}

export async function loadSession(args: GlobalArgs, withPlugins = true): Promise<Session> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd, configFile: args.config });
  const kernel = new Kernel();
  if (withPlugins) {
    const entries = config.file ? config.plugins : [...DEFAULT_PLUGINS];
    for (const { plugin, origin } of await loadPlugins({ ...config, plugins: entries })) kernel.use(plugin, origin);
  }
  const modelsDir = args.modelsDir
    ? path.resolve(cwd, args.modelsDir)
    : config.modelsDir
      ? path.resolve(config.baseDir, config.modelsDir)
      : path.resolve(cwd, 'models');
  const settings = { ...config.settings, ...(config.hubEndpoint ? { hubEndpoint: config.hubEndpoint } : {}) };
  const prompter = process.stdin.isTTY ? new TtyPrompter() : new NonInteractivePrompter();
  return { config, kernel, modelsDir, reporter: new Reporter(), prompter, settings };
}
