/**
 * The body of GET /api/models/{id}[/revision/{rev}] (reference §2): every field when no `expand` is given, otherwise
 * `_id`, `id` and the expanded keys only. `blobs=true` adds size, blobId and lfs to siblings. `cardData` is the repo's,
 * or else the README front matter's, as on the hub.
 */
import { readmeCardData } from './card-data.js';
import { FAKE_COMMIT_DATE } from './git-hash.js';
import type { RepoModel, Snapshot } from './repo-model.js';
import { safetensorsSummary } from './safetensors-params.js';

const CREATED_AT = '2024-01-15T09:30:00.000Z';

async function readJson(snap: Snapshot, path: string): Promise<Record<string, unknown> | undefined> {
  const file = snap.files.get(path);
  if (!file || file.size > 10_000_000) return undefined;
  try {
    const bytes = await file.read(0, file.size);
    const value: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const pick = (obj: Record<string, unknown> | undefined, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => obj && obj[k] !== undefined).map((k) => [k, obj![k]]));

const asList = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** Every field, computed once per snapshot (content never changes after addRepo; a new addRepo builds new snapshots). */
const cache = new WeakMap<Snapshot, Promise<Record<string, unknown>>>();

export function fullModelInfo(model: RepoModel, snap: Snapshot): Promise<Record<string, unknown>> {
  let info = cache.get(snap);
  if (!info) {
    info = computeInfo(model, snap);
    cache.set(snap, info);
  }
  return info;
}

async function computeInfo(model: RepoModel, snap: Snapshot): Promise<Record<string, unknown>> {
  const repo = model.repo;
  const readme = snap.files.get('README.md');
  const card = repo.cardData ?? (readme && !readme.lfs ? readmeCardData(await readme.read(0, readme.size)) : undefined);
  const config = await readJson(snap, 'config.json');
  const tokenizerConfig = await readJson(snap, 'tokenizer_config.json');
  const architectures = asList(config?.architectures);
  const modelType = typeof config?.model_type === 'string' ? config.model_type : undefined;
  const causal = architectures.some((a) => a.endsWith('ForCausalLM'));
  const pipelineTag =
    repo.pipelineTag ?? (typeof card?.pipeline_tag === 'string' ? card.pipeline_tag : causal ? 'text-generation' : undefined);
  const libraryName =
    repo.libraryName ?? (typeof card?.library_name === 'string' ? card.library_name : config ? 'transformers' : undefined);
  const paths = [...snap.files.keys()];
  const safetensors = await safetensorsSummary(snap);

  const tags = new Set<string>();
  if (libraryName) tags.add(libraryName);
  if (paths.some((p) => p.endsWith('.safetensors'))) tags.add('safetensors');
  if (paths.some((p) => p.endsWith('.gguf'))) tags.add('gguf');
  if (paths.some((p) => p.endsWith('.onnx'))) tags.add('onnx');
  if (modelType) tags.add(modelType);
  if (pipelineTag) tags.add(pipelineTag);
  if (tokenizerConfig?.chat_template !== undefined) tags.add('conversational');
  for (const lang of asList(card?.language)) tags.add(lang);
  for (const license of asList(card?.license)) tags.add(`license:${license}`);
  for (const tag of asList(card?.tags)) tags.add(tag);
  for (const tag of repo.tags ?? []) tags.add(tag);

  const siblings = [
    ...[...snap.files.values()].map((f) => ({
      rfilename: f.path,
      size: f.listedSize,
      blobId: f.oid,
      ...(f.lfs ? { lfs: { sha256: f.lfs.oid, size: f.lfs.size, pointerSize: f.lfs.pointerSize } } : {}),
    })),
    ...snap.extras.map((e) => ({ rfilename: e.path, size: e.size, blobId: e.oid })),
  ].sort((a, b) => (a.rfilename < b.rfilename ? -1 : a.rfilename > b.rfilename ? 1 : 0));

  const downloads = parseInt(model.objectId.slice(0, 4), 16);
  const info: Record<string, unknown> = {
    _id: model.objectId,
    id: model.id,
    author: model.id.includes('/') ? model.id.split('/')[0] : undefined,
    sha: snap.commit,
    private: !!repo.private,
    gated: repo.gated ?? false,
    disabled: !!repo.disabled,
    lastModified: FAKE_COMMIT_DATE,
    createdAt: CREATED_AT,
    downloads,
    downloadsAllTime: downloads * 7,
    likes: parseInt(model.objectId.slice(4, 6), 16),
    pipeline_tag: pipelineTag,
    library_name: libraryName,
    tags: [...tags],
    cardData: card,
    config: config
      ? {
          ...pick(config, ['architectures', 'model_type']),
          ...(tokenizerConfig
            ? { tokenizer_config: pick(tokenizerConfig, ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'chat_template']) }
            : {}),
        }
      : undefined,
    transformersInfo:
      libraryName === 'transformers' && causal
        ? { auto_model: 'AutoModelForCausalLM', pipeline_tag: 'text-generation', processor: 'AutoTokenizer' }
        : undefined,
    safetensors,
    siblings,
    spaces: [],
    usedStorage: siblings.reduce((sum, s) => sum + s.size, 0),
  };
  for (const key of Object.keys(info)) if (info[key] === undefined) delete info[key];
  return info;
}

/** Applies `expand` / `expand[]` and `blobs` to the full info. */
export function shapeModelInfo(full: Record<string, unknown>, query: URLSearchParams): Record<string, unknown> {
  const expand = [...query.getAll('expand'), ...query.getAll('expand[]')];
  const blobs = query.get('blobs') === 'true' || query.get('blobs') === '1';
  let out: Record<string, unknown>;
  if (expand.length === 0) out = { ...full };
  else {
    out = { _id: full._id, id: full.id };
    for (const key of expand) if (full[key] !== undefined) out[key] = full[key];
  }
  if (Array.isArray(out.siblings) && !blobs) {
    out.siblings = (out.siblings as { rfilename: string }[]).map((s) => ({ rfilename: s.rfilename }));
  }
  return out;
}
