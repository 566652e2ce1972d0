import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'model-import-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** A model folder for the test plugins: config.json claiming `architecture`, and a weights file of `bytes` random bytes. */
export async function makeTestModel(parent: string, name = 'tiny', options: { architecture?: string; bytes?: number; extra?: Record<string, unknown> } = {}): Promise<string> {
  const dir = path.join(parent, name);
  await fs.mkdir(dir, { recursive: true });
  const config = { architectures: [options.architecture ?? 'TestForCausalLM'], model_type: 'test', num_parameters: 1234, ...options.extra };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  await fs.writeFile(path.join(dir, 'model.safetensors'), randomBytes(options.bytes ?? 300_000));
  return dir;
}

/** Every path below `root`, relative, sorted (to assert that nothing is left behind). */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string) {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      out.push(rel);
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), rel);
    }
  }
  await walk(root, '');
  return out.sort();
}
