/**
 * The fake hub as a separate process, as `npm run demo` and the benchmark start it.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));

describe('cli', () => {
  it('prints the URL first, serves the standard repos, and closes on SIGTERM', async () => {
    const child = spawn(process.execPath, [tsxCli, cliPath, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      expect(firstLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${firstLine}/api/models/tiny-org/qwen2-tiny?expand=sha`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { sha: string }).sha).toMatch(/^[0-9a-f]{40}$/);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
      await expect(fetch(`${firstLine}/api/models/tiny-org/qwen2-tiny`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
