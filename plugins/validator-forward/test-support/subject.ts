/**
 * Test support: a ValidationSubject for a real folder, with the inventory the kernel would take after conversion
 * (every file, size and sha256). Used by this plugin's tests only.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  sha256File,
  type ArchitectureClaim,
  type FetchedFile,
  type ImportOptions,
  type ValidationSubject,
  type ValidationSupport,
} from '../../../src/index.js';

export async function inventory(dir: string): Promise<FetchedFile[]> {
  const files: FetchedFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) {
        const full = path.join(dir, rel);
        files.push({ path: rel, size: (await stat(full)).size, sha256: await sha256File(full) });
      }
    }
  };
  await walk('');
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function testClaim(validation?: ValidationSupport): ArchitectureClaim {
  return {
    adapter: 'test-adapter',
    architecture: 'Qwen2ForCausalLM',
    architectureType: 'qwen2',
    family: 'qwen',
    warnings: [],
    conversionScratchBytes: () => 0,
    validation,
  };
}

export async function makeSubject(
  modelDir: string,
  init: { mode?: 'import' | 'verify'; claim?: ArchitectureClaim; options?: Partial<ImportOptions> } = {},
): Promise<ValidationSubject> {
  let config = {};
  try {
    config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8'));
  } catch {
    // folders without a config.json are fine for the integrity tests
  }
  return {
    modelDir,
    mode: init.mode ?? 'import',
    config,
    claim: init.claim ?? testClaim(),
    expectedFiles: await inventory(modelDir),
    options: { modelsDir: path.dirname(modelDir), yes: true, acceptLicense: true, skipValidation: false, ...init.options },
  };
}
