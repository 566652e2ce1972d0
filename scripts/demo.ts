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
import { startFakeHub, type FakeHub } from '../test/fake-hub/index.js';
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
    return await showBlobReuse(hub, importArgs, env);
  } finally {
    await hub.close();
  }
}

/**
 * The blob store: the same repo and commit under a second name downloads nothing (the hub's byte counter says so)
 * and costs the disk once (the weights of both folders are one inode, that of models/.blobs/sha256/<hash>).
 */
async function showBlobReuse(hub: FakeHub, importArgs: string[], env: Record<string, string>): Promise<number> {
  process.stdout.write('\nNow the same model under a second name: its blobs are already in models/.blobs, so nothing is downloaded.\n');
  const before = hub.weightBytesServed();
  const args = importArgs.map((a) => (a === 'demo-qwen' ? 'demo-qwen-again' : a));
  const code = await run([...args, '--on-duplicate', 'rename'], env);
  if (code !== 0) return code;
  process.stdout.write(`\nWeight bytes the hub served for the second import: ${hub.weightBytesServed() - before}.\n`);
  const folders = ['demo-qwen', 'demo-qwen-again'];
  for (const name of (await fs.readdir(path.join(modelsDir, folders[0]))).filter((n) => n.endsWith('.safetensors')).sort()) {
    const stats = await Promise.all(folders.map((f) => fs.stat(path.join(modelsDir, f, name))));
    const same = stats.every((st) => st.ino === stats[0].ino);
    process.stdout.write(`  ${name}: ${same ? `one file on disk (inode ${stats[0].ino}, ${stats[0].nlink} names: the blob in models/.blobs and links in both model folders)` : 'two copies'}\n`);
  }
  const removed = await run(['remove', 'demo-qwen-again', '--yes'], env);
  if (removed !== 0) return removed;
  process.stdout.write('Removing one name frees nothing that the other still uses; removing the last one frees its blobs.\n');
  return 0;
}

main().then((code) => process.exit(code));
