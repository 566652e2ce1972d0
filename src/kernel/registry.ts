/**
 * The one module that reads and writes models/registry.json. Every change happens under a lock
 * (proper-lockfile: a lock folder beside the file, stale after a dead writer) and lands by
 * write-temp-then-rename, so concurrent imports all land and readers never see a torn file.
 * A registry that does not parse is never overwritten: the user decides what to do with it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ModelImportError, fileSystemError, isModelImportError } from './errors.js';
import { ensureModelsFolder } from '../util/path-policy.js';
import { writeFileAtomic } from './atomic-write.js';
import type { ModelEntry } from './types.js';

export const REGISTRY_FILE = 'registry.json';

export interface RegistryData {
  _comment: string;
  version: 1;
  models: Record<string, ModelEntry>;
}

const COMMENT =
  'Models imported by model-import. Keys are model names; each entry mirrors models/<name>/metadata.json. ' +
  'Edit with the model-import CLI (list, show, remove), not by hand.';

function empty(): RegistryData {
  return { _comment: COMMENT, version: 1, models: {} };
}

export class Registry {
  readonly file: string;

  constructor(readonly modelsDir: string) {
    this.file = path.join(modelsDir, REGISTRY_FILE);
  }

  async read(): Promise<RegistryData> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return empty();
      if (code === 'EISDIR') {
        throw new ModelImportError('REGISTRY_CORRUPT', `The registry ${this.file} is a folder, not a file.`, {
          hint: 'Move it aside; model-import will then start a new registry.',
        });
      }
      throw fileSystemError(error, 'read');
    }
    return this.parse(text);
  }

  private parse(text: string): RegistryData {
    const corrupt = (why: string): never => {
      throw new ModelImportError('REGISTRY_CORRUPT', `The registry ${this.file} is corrupted: ${why}.`, {
        hint: 'Restore it from a backup or move it aside; model-import will not overwrite it.',
      });
    };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      corrupt(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) corrupt('not a JSON object');
    const models = (data as { models?: unknown }).models;
    if (typeof models !== 'object' || models === null || Array.isArray(models)) corrupt('no "models" object');
    for (const [name, entry] of Object.entries(models as object)) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) corrupt(`the entry ${JSON.stringify(name)} is not an object`);
    }
    return { ...empty(), ...(data as object), models: models as Record<string, ModelEntry> };
  }

  /** Runs `change` with the current data under the lock and writes what it returns. */
  async update<T>(change: (data: RegistryData) => Promise<T> | T): Promise<T> {
    await ensureModelsFolder(this.modelsDir);
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(this.file, {
        realpath: false,
        stale: 15_000,
        update: 2_000,
        retries: { retries: 200, factor: 1.3, minTimeout: 10, maxTimeout: 250, randomize: true },
      });
    } catch (error) {
      if (isModelImportError(error)) throw error;
      const mapped = fileSystemError(error, 'lock');
      if (isModelImportError(mapped) && mapped.code !== 'UNSAFE_LOCAL_STATE') throw mapped;
      throw new ModelImportError('LOCKED', `Could not lock ${this.file}: ${(error as Error).message}.`, {
        hint: 'Another model-import is writing the registry; try again when it has finished.',
        cause: error,
      });
    }
    try {
      const data = await this.read();
      const result = await change(data);
      await writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`).catch((error: unknown) => {
        throw fileSystemError(error, 'write');
      });
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }
}
