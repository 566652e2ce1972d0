/**
 * `npm run demo`: the whole import, offline. A fake Hugging Face Hub on 127.0.0.1 serves a tiny Qwen2 model
 * (throttled so the progress bars are visible); the real CLI imports it into .demo/models: license shown and
 * acknowledged (asked on a terminal, --accept-license otherwise), download progress, per-component conversion
 * status, the validation table, then the registry listing.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub } from '../test/fake-hub/index.js';
import { makeTinyModel } from '../test/fixtures/tiny-models.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'model-import.js');
// DEMO_DIR lets a test run the demo without touching the repository's own .demo folder.
const demoDir = process.env.DEMO_DIR ? path.resolve(process.env.DEMO_DIR) : path.join(root, '.demo');
const modelsDir = path.join(demoDir, 'models');

function run(args: string[], env: Record<string, string>): Promise<number> {
  process.stdout.write(`\n$ model-import ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, '--models-dir', modelsDir], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  await fs.rm(demoDir, { recursive: true, force: true });
  const hub = await startFakeHub({
    throttleBytesPerSecond: 120_000,
    repos: [
      {
        id: 'tiny-org/qwen2-tiny',
        files: makeTinyModel({ family: 'qwen2', seed: 7, shards: 2 }),
        cardData: { license: 'apache-2.0', license_link: 'LICENSE' },
      },
    ],
  });
  process.stdout.write(`Offline demo: a fake Hugging Face Hub is serving tiny-org/qwen2-tiny at ${hub.url}\n`);
  const env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(demoDir, 'hf-home') };
  try {
    const interactive = Boolean(process.stdin.isTTY);
    const importArgs = ['import-model', 'tiny-org/qwen2-tiny', '--name', 'demo-qwen', ...(interactive ? [] : ['--accept-license'])];
    for (const args of [importArgs, ['list'], ['verify', 'demo-qwen']]) {
      const code = await run(args, env);
      if (code !== 0) return code;
    }
    process.stdout.write(`\nThe model folder is ${path.join(modelsDir, 'demo-qwen')} (metadata.json explains every field).\n`);
    return 0;
  } finally {
    await hub.close();
  }
}

main().then((code) => process.exit(code));
