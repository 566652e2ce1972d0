/**
 * `npx tsx bench/ctrl-c-only.ts` (after `npm run build`): only the Ctrl-C row of `npm run bench`, on the same
 * Qwen2.5-0.5B-shaped model and fake hub: five Ctrl-Cs during validation, at staggered moments of it, with the
 * load average beside them (the figure is noisy on a shared machine). BENCH_CTRL_C_RUNS sets how many.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub, lazyFileFromDisk } from '../test/fake-hub/index.js';
import { ctrlCDuringValidation } from './ctrl-c.js';
import { makeBenchModel } from './make-model.js';
import { stats } from './measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, '.bench');
const bin = path.join(root, 'bin', 'model-import.js');
const REPO = 'bench/qwen2.5-0.5b-shaped';
const RUNS = Math.max(1, Number(process.env.BENCH_CTRL_C_RUNS ?? 5));

async function main(): Promise<void> {
  await fs.mkdir(benchDir, { recursive: true });
  const modelDir = await makeBenchModel(path.join(benchDir, 'qwen2.5-0.5b-shaped'));
  const small: Record<string, Uint8Array> = {};
  for (const name of await fs.readdir(modelDir)) {
    if (name !== 'model.safetensors' && !name.startsWith('.')) small[name] = await fs.readFile(path.join(modelDir, name));
  }
  const hub = await startFakeHub({
    repos: [{ id: REPO, files: small, lazyFiles: { 'model.safetensors': await lazyFileFromDisk(path.join(modelDir, 'model.safetensors')) }, cardData: { license: 'apache-2.0' } }],
  });
  const env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(benchDir, 'hf-home'), HF_TOKEN: undefined };
  const exits: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const load = os.loadavg()[0].toFixed(1);
      const result = await ctrlCDuringValidation(bin, REPO, env, path.join(benchDir, 'models-ctrl-c'), 500 + (i % 5) * 400);
      if (result.code !== 130 || result.leftovers) throw new Error(`Ctrl-C during validation: exit ${result.code}, leftovers ${result.leftovers}`);
      exits.push(result.exitMs);
      process.stdout.write(`Ctrl-C ${500 + (i % 5) * 400} ms into validation: exit after ${result.exitMs.toFixed(0)} ms (load average ${load})\n`);
    }
  } finally {
    await hub.close();
  }
  const s = stats(exits);
  process.stdout.write(`median ${s.median.toFixed(0)} ms [${s.min.toFixed(0)}–${s.max.toFixed(0)}] over ${RUNS}; ${os.cpus().length} cores, load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
