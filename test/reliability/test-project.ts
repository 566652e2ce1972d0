/**
 * A project folder as a user has one: a model-import.config.json with the built-in plugins and the hub settings a
 * suite needs (short retry budgets keep failing cases fast), an HF home of its own, and the CLI run inside it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli, spawnCli, type CliResult } from '../support/cli.js';

export const BUILTIN_PLUGINS = ['source-local', 'source-huggingface', 'arch-qwen', 'validator-forward'].map((p) => `model-import/${p}`);

export interface TestProject {
  dir: string;
  models: string;
  env: Record<string, string | undefined>;
  run(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  spawn(args: string[], extraEnv?: Record<string, string>): ReturnType<typeof spawnCli>;
}

export async function makeProject(dir: string, hubUrl: string, settings: Record<string, unknown> = {}): Promise<TestProject> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'model-import.config.json'), JSON.stringify({ plugins: BUILTIN_PLUGINS, settings }, null, 2));
  const env = {
    HF_ENDPOINT: hubUrl,
    HF_HOME: path.join(dir, 'hf-home'),
    HF_TOKEN: undefined,
    HUGGING_FACE_HUB_TOKEN: undefined,
    HF_TOKEN_PATH: undefined,
    HF_HUB_OFFLINE: undefined,
  };
  return {
    dir,
    models: path.join(dir, 'models'),
    env,
    run: (args, extraEnv = {}) => runCli(args, { cwd: dir, env: { ...env, ...extraEnv } }),
    spawn: (args, extraEnv = {}) => spawnCli(args, { cwd: dir, env: { ...env, ...extraEnv } }),
  };
}
