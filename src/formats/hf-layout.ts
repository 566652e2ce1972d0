/**
 * Which files of a repo listing to download: what a transformers checkpoint needs to load (configs, tokenizer,
 * license) and exactly one weights format. Everything else (onnx/, gguf, original/, consolidated.*, flax, tf,
 * README images, ...) stays on the hub. Only files at the repo root are candidates: that is where transformers
 * looks.
 */
import os from 'node:os';
import path from 'node:path';
import { ModelImportError } from '../kernel/errors.js';
import type { FileRole, PlannedFile } from '../kernel/types.js';

export interface ListedFile {
  path: string;
  size: number;
  /** git blob sha1 of the content (non-LFS) */
  gitOid?: string;
  /** sha256 of the content (LFS) */
  sha256?: string;
}

const FIXED_ROLES: Record<string, FileRole> = {
  'config.json': 'config',
  'generation_config.json': 'generation-config',
  'tokenizer.json': 'tokenizer',
  'tokenizer_config.json': 'tokenizer',
  'vocab.json': 'tokenizer',
  'merges.txt': 'tokenizer',
  'special_tokens_map.json': 'tokenizer',
  'added_tokens.json': 'tokenizer',
  'chat_template.jinja': 'tokenizer',
  'chat_template.json': 'tokenizer',
  // SentencePiece models (Llama-style families); small, and without it such a tokenizer cannot load.
  'tokenizer.model': 'tokenizer',
};

const LICENSE_FILE = /^(licen[cs]e|notice)([._-].*)?$/i;

interface WeightFormat {
  label: string;
  single: string;
  index: string;
  shard: RegExp;
}

const FORMATS: WeightFormat[] = [
  { label: 'safetensors', single: 'model.safetensors', index: 'model.safetensors.index.json', shard: /^model-(\d+)-of-(\d+)\.safetensors$/ },
  { label: 'PyTorch .bin', single: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json', shard: /^pytorch_model-(\d+)-of-(\d+)\.bin$/ },
];

export interface Selection {
  files: PlannedFile[];
  /** Which weights format was picked. */
  format: string;
  /** The license file the repo ships, if any (preferring LICENSE over LICENSE.txt/.md, over NOTICE). */
  licenseFile?: string;
}

export function selectFiles(listing: readonly ListedFile[], repoId: string): Selection {
  const root = new Map(listing.filter((f) => !f.path.includes('/')).map((f) => [f.path, f]));
  const picked: PlannedFile[] = [];
  const add = (f: ListedFile, role: FileRole) =>
    picked.push({ path: f.path, size: f.size, role, ...(f.sha256 ? { sha256: f.sha256 } : {}), ...(f.gitOid && !f.sha256 ? { gitOid: f.gitOid } : {}) });

  for (const f of root.values()) {
    const role = FIXED_ROLES[f.path] ?? (LICENSE_FILE.test(f.path) ? 'license' : undefined);
    if (role) add(f, role);
  }

  const weights = pickWeights(root);
  if (!weights) {
    const seen = listing.map((f) => f.path).filter((p) => /\.(safetensors|bin|gguf|onnx|h5|msgpack|pth?|ckpt)$/i.test(p));
    throw new ModelImportError(
      'UNSUPPORTED_VARIANT',
      `${repoId} has no transformers weights at its root (model*.safetensors or pytorch_model*.bin).`,
      {
        hint: seen.length
          ? `It ships ${seen.slice(0, 5).join(', ')}${seen.length > 5 ? ', ...' : ''}; only safetensors and PyTorch .bin checkpoints can be imported. Look for a transformers version of the model.`
          : 'Look for a repository that contains the transformers checkpoint of this model.',
        details: { repoId, weightFiles: seen.slice(0, 20) },
      },
    );
  }
  for (const f of weights.files) add(f, f.path === weights.format.index ? 'weights-index' : 'weights');

  const order: FileRole[] = ['config', 'generation-config', 'tokenizer', 'license', 'other', 'weights-index', 'weights'];
  picked.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role) || (a.path < b.path ? -1 : 1));
  return { files: picked, format: weights.format.label, licenseFile: pickLicenseFile(picked) };
}

/**
 * The first format (safetensors before .bin) that is complete: with an index, one complete set of
 * `-0000k-of-0000n` shards (the largest complete n, in case an old set was left behind); else the single file.
 */
function pickWeights(root: Map<string, ListedFile>): { format: WeightFormat; files: ListedFile[] } | undefined {
  for (const format of FORMATS) {
    const index = root.get(format.index);
    if (index) {
      const sets = new Map<number, Map<number, ListedFile>>();
      for (const f of root.values()) {
        const m = format.shard.exec(f.path);
        if (!m) continue;
        const [k, n] = [Number(m[1]), Number(m[2])];
        if (!sets.has(n)) sets.set(n, new Map());
        sets.get(n)!.set(k, f);
      }
      const complete = [...sets.entries()]
        .filter(([n, shards]) => n > 0 && shards.size === n && [...shards.keys()].every((k) => k >= 1 && k <= n))
        .sort((a, b) => b[0] - a[0]);
      if (complete.length) {
        const shards = [...complete[0][1].entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
        return { format, files: [index, ...shards] };
      }
    }
    const single = root.get(format.single);
    if (single) return { format, files: [single] };
  }
  return undefined;
}

function pickLicenseFile(files: readonly PlannedFile[]): string | undefined {
  const licenses = files.filter((f) => f.role === 'license').map((f) => f.path);
  const rank = (p: string) => (/^licen[cs]e$/i.test(p) ? 0 : /^licen[cs]e/i.test(p) ? 1 : 2);
  return licenses.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1))[0];
}

/**
 * Where huggingface_hub keeps its cache: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. Read by the local source (snapshots) and the
 * hub source (blobs to reuse); neither ever writes there.
 */
export function hubCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

/** The cache folder of a repo: `models--{org}--{name}`. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}
