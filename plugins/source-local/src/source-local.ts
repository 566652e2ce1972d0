/**
 * Imports from disk: a model folder (`./path/to/model`), or a Hugging Face cache snapshot
 * (`~/.cache/huggingface/hub/models--org--name/snapshots/<sha>`, a `models--org--name` folder, or, with
 * HF_HUB_OFFLINE set, a repo id found in the cache at HF_HUB_CACHE / HF_HOME). Same architecture check,
 * conversion, validation and registry entry as a hub import; source "local" or "huggingface-cache".
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ModelImportError,
  hubCacheDir,
  repoFolderName,
  safeJoin,
  selectFiles,
  type FetchedFile,
  type ModelConfig,
  type ModelImportPlugin,
  type SourcePlan,
  type StageContext,
} from '../../../src/index.js';
import { parseSnapshotPath, snapshotOfRepoFolder, type CacheSnapshot } from './hf-cache.js';
import { listFolder, type LocalFile } from './list-folder.js';
import { localLicense } from './card-license.js';
import { copyAndHash } from './copy-verified.js';
import { fetchIntoStore } from './fetch-into-store.js';

export const NAME = 'model-import/source-local';

interface LocalData {
  folder: string;
  files: Record<string, LocalFile>;
}

const TRUTHY = /^(1|on|yes|true)$/i;

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('~') || /^[A-Za-z]:[\\/]/.test(spec);
}

function expandHome(spec: string): string {
  return spec === '~' || spec.startsWith('~/') ? path.join(os.homedir(), spec.slice(1)) : spec;
}

async function findSnapshot(spec: string, context: StageContext): Promise<{ folder: string; snapshot?: CacheSnapshot } | undefined> {
  const revision = context.options.revision ?? 'main';
  if (looksLikePath(spec)) {
    const folder = path.resolve(expandHome(spec));
    const stat = await fs.stat(folder).catch(() => undefined);
    if (!stat?.isDirectory()) {
      throw new ModelImportError('BAD_INPUT', `No model folder at ${folder}.`, { hint: 'Give the path of a folder holding config.json and the weights.' });
    }
    const snapshot = parseSnapshotPath(folder) ?? (await snapshotOfRepoFolder(folder, revision));
    return { folder: snapshot?.snapshotDir ?? folder, snapshot };
  }
  // A repo id: only from the cache, and only offline (online, the hub source answers).
  if (!TRUTHY.test(context.env.HF_HUB_OFFLINE ?? '') && !TRUTHY.test(context.env.TRANSFORMERS_OFFLINE ?? '')) return undefined;
  if (!/^[\w.-]+\/[\w.-]+$/.test(spec)) return undefined;
  const snapshot = await snapshotOfRepoFolder(path.join(hubCacheDir(context.env), repoFolderName(spec)), revision);
  if (!snapshot) {
    throw new ModelImportError('OFFLINE', `HF_HUB_OFFLINE is set and ${spec} (revision ${revision}) is not in the Hugging Face cache at ${hubCacheDir(context.env)}.`, {
      hint: 'Unset HF_HUB_OFFLINE to download it, or point HF_HUB_CACHE / HF_HOME at the cache that holds it.',
    });
  }
  return { folder: snapshot.snapshotDir, snapshot };
}

async function readConfig(folder: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await fs.readFile(path.join(folder, 'config.json'), 'utf8');
  } catch {
    throw new ModelImportError('BAD_INPUT', `${folder} has no config.json.`, { hint: 'A transformers model folder holds config.json beside its weights.' });
  }
  try {
    const config = JSON.parse(text) as unknown;
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('not an object');
    return config as ModelConfig;
  } catch (error) {
    throw new ModelImportError('BAD_INPUT', `${path.join(folder, 'config.json')} is not a JSON object (${(error as Error).message}).`, {
      hint: 'Repair or re-download the model folder.',
    });
  }
}

export function sourceLocal(): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'source',
    claims: ['local folder', 'huggingface-cache'],
    apply({ hooks }) {
      hooks.resolve.tapPromise({ name: NAME, stage: -10 }, async (request, context) => {
        const found = await findSnapshot(request.spec, context);
        if (!found) return undefined;
        const { folder, snapshot } = found;
        const config = await readConfig(folder);
        const listed = await listFolder(folder, snapshot?.repoFolder ?? folder);
        const byPath = Object.fromEntries(listed.map((f) => [f.path, f]));
        const selection = selectFiles(
          listed.map((f) => ({ path: f.path, size: f.size, ...(f.blobSha256 ? { sha256: f.blobSha256 } : {}) })),
          snapshot?.repoId ?? folder,
        );
        const plan: SourcePlan = {
          source: snapshot ? 'huggingface-cache' : 'local',
          resolvedBy: NAME,
          modelId: snapshot?.repoId ?? path.basename(folder),
          revision: snapshot ? (context.options.revision ?? 'main') : undefined,
          commit: snapshot?.commit,
          config,
          files: selection.files,
          license: await localLicense(folder, selection.licenseFile),
          data: { folder, files: byPath } satisfies LocalData,
        };
        return plan;
      });

      hooks.fetch.tapPromise(NAME, async (plan, context) => {
        if (plan.resolvedBy !== NAME) return undefined;
        const data = plan.data as unknown as LocalData;
        if (context.blobs) {
          const files = plan.files.map((planned) => ({ planned, realPath: data.files[planned.path].realPath }));
          return { files: await fetchIntoStore(files, context.blobs, context), bytesDownloaded: 0 };
        }
        // No blob store (a plugin harness): a copy into staging, hashed on the way.
        const fetched: FetchedFile[] = [];
        for (const file of plan.files) {
          const source = data.files[file.path];
          const target = safeJoin(context.rawDir, file.path);
          await fs.mkdir(path.dirname(target), { recursive: true });
          const task = context.reporter.task(file.path, file.size, 'copy');
          const sha256 = await copyAndHash(source.realPath, target, task, context.signal);
          task.end();
          if (file.sha256 && file.sha256 !== sha256) {
            throw new ModelImportError('HASH_MISMATCH', `${file.path} in the cache does not match its blob name (sha256 ${sha256.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}…).`, {
              hint: 'The cache is corrupted: delete that blob and download the model again.',
            });
          }
          fetched.push({ path: file.path, size: file.size, sha256 });
        }
        return { files: fetched, bytesDownloaded: 0 };
      });
    },
  };
}
