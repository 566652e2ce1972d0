/**
 * Runs the real CLI (bin/model-import.js over dist/) as a child process, as a user would.
 * `npm test` builds dist/ first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO_ROOT, 'bin', 'model-import.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
}

export function spawnCli(args: string[], options: CliOptions): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/**
 * The environment of a CLI pointed at a (fake) hub: its own HF_HOME under the test's project folder, and none of the
 * developer's tokens, so no test sends a real token or reads a real cache.
 */
export function hubCliEnv(endpoint: string, project: string): Record<string, string | undefined> {
  return { HF_ENDPOINT: endpoint, HF_HOME: path.join(project, 'hf-home'), HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined };
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/** Resolves when the child's stderr contains `text`. */
export function waitForStderr(child: ChildProcess, text: string | RegExp, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${text} in stderr:\n${seen}`)), timeoutMs);
    child.stderr!.on('data', (d) => {
      seen += d;
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** A project folder whose model-import.config.ts lists the kernel's test plugins (absolute paths). */
export function testPluginsConfig(sourceOptions: Record<string, unknown> = {}, extra: string[] = []): string {
  const p = (name: string) => JSON.stringify(path.join(REPO_ROOT, 'test', 'plugins', name));
  return `export default {
  plugins: [[${p('folder-source.ts')}, ${JSON.stringify(sourceOptions)}], ${p('test-arch.ts')}, ${p('test-validator.ts')}${extra.map((e) => `, ${e}`).join('')}],
};
`;
}
