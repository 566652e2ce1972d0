/**
 * All work of one import happens in a staging folder inside <models>/.staging/ (same file system, so the
 * finished model appears by one rename). The folder records its owner; a later run removes staging folders
 * whose owner process is dead on this host (a SIGKILLed import), and never touches a live one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelImportError } from './errors.js';
import { processAlive } from '../util/owner-lock.js';

export const STAGING_DIR = '.staging';
const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Staging folders of this process that are still open: removed synchronously if the process is forced out. */
const open = new Set<string>();

export function removeOpenStagingSync(): void {
  for (const dir of open) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort on the way out; the next run cleans what is left (owner pid is dead)
    }
  }
  open.clear();
}

export class Staging {
  private constructor(
    readonly dir: string,
    readonly modelsDir: string,
  ) {}

  get rawDir(): string {
    return path.join(this.dir, 'raw');
  }
  get outDir(): string {
    return path.join(this.dir, 'out');
  }

  static async begin(modelsDir: string, label: string): Promise<Staging> {
    const root = path.join(modelsDir, STAGING_DIR);
    for (const dir of [root]) {
      await fs.mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw error;
        throw new ModelImportError('REGISTRY_CORRUPT', `${dir} is in the way: model-import needs a folder there.`, {
          hint: 'Move that file aside, then run the command again.',
          cause: error,
        });
      });
    }
    const dir = path.join(root, `${label}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await fs.mkdir(dir);
    open.add(dir);
    const owner: Owner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
    await fs.writeFile(path.join(dir, OWNER_FILE), JSON.stringify(owner));
    const staging = new Staging(dir, modelsDir);
    await fs.mkdir(staging.rawDir);
    await fs.mkdir(staging.outDir);
    return staging;
  }

  /** A folder in staging for the old model while an overwrite swaps it out. */
  trashPath(name: string): string {
    return path.join(this.dir, `replaced-${name}`);
  }

  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
    open.delete(this.dir);
  }

  /** Removes staging folders left by dead processes on this host. Returns the folders removed. */
  static async cleanAbandoned(modelsDir: string): Promise<string[]> {
    const root = path.join(modelsDir, STAGING_DIR);
    let names: string[];
    try {
      names = await fs.readdir(root);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const dir = path.join(root, name);
      if (open.has(dir)) continue;
      let owner: Owner | undefined;
      try {
        owner = JSON.parse(await fs.readFile(path.join(dir, OWNER_FILE), 'utf8')) as Owner;
      } catch {
        owner = undefined;
      }
      let abandoned: boolean;
      if (owner && typeof owner.pid === 'number') {
        abandoned = owner.host === os.hostname() && !processAlive(owner.pid);
      } else {
        // No readable owner: a process died between mkdir and writing owner.json. Give a live writer a minute.
        const stat = await fs.stat(dir).catch(() => undefined);
        abandoned = stat !== undefined && Date.now() - stat.mtimeMs > 60_000;
      }
      if (abandoned) {
        await fs.rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    return removed;
  }
}
