/**
 * A fuzz-tier worker: runs CLI cases one after the other in this process (the CLI's main from dist/, output
 * captured), so that several workers can run the mostly idle cases (waiting on stall and retry clocks) side by
 * side. Reads one JSON case per line on stdin, answers one JSON result per line on fd 1.
 * Run as: node --import tsx test/reliability/fuzz-worker.ts
 */
import { writeSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../support/cli.js';

interface WorkerCase {
  id: number;
  argv: string[];
  env: Record<string, string | null>;
  hangMs: number;
}

type Main = (argv: string[]) => Promise<number>;
const { main } = (await import(pathToFileURL(path.join(REPO_ROOT, 'dist/src/cli/main.js')).href)) as { main: Main };
const reply = (value: unknown) => writeSync(1, `${JSON.stringify(value)}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const kase = JSON.parse(line) as WorkerCase;
  for (const [k, v] of Object.entries(kase.env)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), kase.hangMs)));
  const started = Date.now();
  try {
    const code = await Promise.race([main(kase.argv), hang]);
    reply({ id: kase.id, code: code === 'hung' ? null : code, hung: code === 'hung', stdout, stderr, ms: Date.now() - started });
    if (code === 'hung') process.exit(0); // the hung case keeps running here: this worker is done
  } catch (error) {
    reply({ id: kase.id, code: null, threw: (error as Error)?.message ?? String(error), stdout, stderr, ms: Date.now() - started });
  } finally {
    clearTimeout(timer);
  }
}
