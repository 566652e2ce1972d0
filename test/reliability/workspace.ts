import { promises as fs } from 'node:fs';

/** Removes a suite's temp folder, unless RELIABILITY_KEEP is set (then it says where it is, to inspect). */
export async function removeWorkspace(suite: string, dir: string | undefined, clean: boolean): Promise<void> {
  if (!dir) return;
  if (process.env.RELIABILITY_KEEP) {
    console.log(`${suite}: projects kept in ${dir}`);
    return;
  }
  await fs.rm(dir, { recursive: true, force: true });
  if (!clean) console.log(`${suite}: run with RELIABILITY_KEEP=1 to keep the projects for inspection`);
}
