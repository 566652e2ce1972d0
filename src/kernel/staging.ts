/**
 * All work of one import happens in a staging folder inside <models>/.staging/ (same file system, so the
 * finished model appears by one rename). The folder records its owner; a later run removes staging folders
 * whose owner process is dead on this host (a SIGKILLed import), and never touches a live one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelImportError } from './errors.js';
import { processAlive } from '../util/owner-lock.js';
import { assertInside, ensureFolderInside } from '../util/path-policy.js';

/** The names begin() gives staging folders: anything else in .staging was not made by us and is left alone. */
const OUR_NAME = /^[^/]+\.[0-9]+\.[0-9a-f]{8}$/;

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
  for (const dir of open) removeSettlingFolderSync(dir);
  open.clear();
}

/** How long the way out may spend waiting for writes already handed to libuv's threads to land. */
const SETTLE_BUDGET_MS = 500;
const SETTLE_PAUSE_MS = 10;

/**
 * Removes a folder that writes issued before the signal may still be refilling: libuv's threads go on running
 * the file operations already queued (an open with O_CREAT, a link, a recursive mkdir that can even recreate
 * the folder) while no JavaScript runs. So: empty it but for owner.json, pause, and repeat until a pass finds it
 * still empty, then remove it, pause, and check that nothing recreated it. If the budget runs out, owner.json
 * stays where it can (it names the dead owner, so the next run's cleanup removes the rest).
 */
function removeSettlingFolderSync(dir: string): void {
  const deadline = Date.now() + SETTLE_BUDGET_MS;
  do {
    try {
      const others = () => readdirSync(dir).filter((name) => name !== OWNER_FILE);
      for (const name of others()) rmSync(path.join(dir, name), { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
      pauseSync(SETTLE_PAUSE_MS);
      if (others().length > 0) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone already (ENOENT), or refilling under us: the next pass looks again
    }
    pauseSync(SETTLE_PAUSE_MS);
    if (!existsSync(dir)) return;
  } while (Date.now() < deadline);
}

/** A synchronous pause: the signal handler leaves with process.exit, so there is no event loop to wait on. */
function pauseSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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
    // A real folder, not a link: a planted .staging link would send our writes and deletes elsewhere.
    await ensureFolderInside(modelsDir, root);
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
      // A .staging that is a link (or below one) is refused before anything in it is read or removed.
      await assertInside(modelsDir, root);
      names = await fs.readdir(root);
    } catch (error) {
      if (error instanceof ModelImportError) throw error;
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const dir = path.join(root, name);
      if (open.has(dir) || !OUR_NAME.test(name)) continue;
      // Only real folders of ours: a planted link (to a folder of the user's) is never followed nor removed.
      const self = await fs.lstat(dir).catch(() => undefined);
      if (!self?.isDirectory()) continue;
      const ownerStat = await fs.lstat(path.join(dir, OWNER_FILE)).catch(() => undefined);
      if (ownerStat && !ownerStat.isFile()) continue;
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
        abandoned = Date.now() - self.mtimeMs > 60_000;
      }
      if (abandoned) {
        await fs.rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    return removed;
  }
}
