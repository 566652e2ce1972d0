/**
 * Resolves an oci:// reference to a ModelPack artifact and checks it before any weight byte moves: the
 * manifest's own digest (when pinned), its type (foreign artifacts refused by name), every layer's media
 * type, digest form and filepath (nothing that escapes the model folder), and the small blobs read now (the
 * config, config.json, model-import's record) against their digests.
 */
import { ModelImportError, checkRelativePath, type ModelConfig } from '../../../src/index.js';
import { FILEPATH, MEDIA, RECORD_ANNOTATION, isModelPack, sha256Digest, type Descriptor, type ImageManifest, type PushedRecord } from './modelpack.js';
import type { RegistryClient } from './registry-client.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+$/;
const SMALL_BLOB_LIMIT = 16 * 2 ** 20;
const RAW_LAYER = /^application\/vnd\.cncf\.model\.(weight|weight\.config|doc|code|dataset)\.v1\.raw$/;

export interface ModelLayer {
  path: string;
  digest: string;
  size: number;
  mediaType: string;
}

export interface ResolvedArtifact {
  manifestDigest: string;
  manifest: ImageManifest;
  modelConfig: Record<string, unknown>;
  config: ModelConfig;
  layers: ModelLayer[];
  record?: PushedRecord;
  warnings: string[];
}

function shown(text: unknown): string {
  return typeof text === 'string' && MEDIA_TYPE.test(text) && text.length < 200 ? text : '(unreadable)';
}

export async function fetchSmallBlob(client: RegistryClient, descriptor: Descriptor, what: string): Promise<Buffer> {
  if (!DIGEST.test(descriptor.digest) || !Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    throw new ModelImportError('BAD_INPUT', `The manifest's ${what} has no valid sha256 digest and size.`, { hint: 'The artifact is malformed; nothing was downloaded.' });
  }
  if (descriptor.size > SMALL_BLOB_LIMIT) throw new ModelImportError('BAD_INPUT', `The ${what} is ${descriptor.size} bytes; refusing to read so much as metadata.`, { hint: 'The artifact is malformed.' });
  const response = await client.request('GET', client.repoUrl(`blobs/${descriptor.digest}`), { what });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length !== descriptor.size || sha256Digest(bytes) !== descriptor.digest) {
    throw new ModelImportError('HASH_MISMATCH', `The ${what} from ${client.ref.registry} does not match its digest; nothing was registered.`, {
      hint: 'The registry serves corrupted or substituted bytes: report it to its operator.',
    });
  }
  return bytes;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch (error) {
    throw new ModelImportError('BAD_INPUT', `The ${what} is not a JSON object (${(error as Error).message}).`, { hint: 'The artifact is malformed.' });
  }
}

export async function readArtifact(client: RegistryClient): Promise<ResolvedArtifact> {
  const ref = client.ref;
  const response = await client.request('GET', client.repoUrl(`manifests/${ref.digest ?? ref.tag}`), {
    what: 'the manifest',
    headers: { accept: [MEDIA.manifest, MEDIA.index, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ') },
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > 4 * 2 ** 20) throw new ModelImportError('BAD_INPUT', 'The manifest is over 4 MiB.', { hint: 'The artifact is malformed.' });
  const manifestDigest = sha256Digest(bytes);
  if (ref.digest && manifestDigest !== ref.digest) {
    throw new ModelImportError('HASH_MISMATCH', `The manifest from ${ref.registry} does not match the digest asked for (${ref.digest.slice(0, 19)}…).`, {
      hint: 'The registry serves another manifest under that digest: report it to its operator.',
    });
  }
  const manifest = parseJson<ImageManifest>(bytes, 'manifest');
  const mediaType = manifest.mediaType ?? response.headers.get('content-type');
  if (mediaType === MEDIA.index) {
    throw new ModelImportError('BAD_INPUT', `${ref.repository} names an image index, not a model manifest.`, {
      hint: 'Pull the model manifest by its digest (oci://registry/repository@sha256:…).',
    });
  }
  if (!isModelPack(manifest)) {
    throw new ModelImportError('BAD_INPUT', `${ref.registry}/${ref.repository} is not a CNCF ModelPack model (artifact type ${shown(manifest.artifactType)}, config ${shown(manifest.config?.mediaType)}).`, {
      hint: `model-import reads artifacts of type ${MEDIA.artifact}; this one was made for another tool.`,
    });
  }
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) {
    throw new ModelImportError('BAD_INPUT', 'The model manifest lists no layers.', { hint: 'The artifact is malformed.' });
  }
  const modelConfig = parseJson<Record<string, unknown>>(await fetchSmallBlob(client, manifest.config, 'model config'), 'model config');

  const warnings: string[] = [];
  const layers: ModelLayer[] = [];
  let recordLayer: Descriptor | undefined;
  const seen = new Set<string>();
  for (const layer of manifest.layers) {
    const rawPath = layer.annotations?.[FILEPATH];
    if (typeof rawPath !== 'string') throw new ModelImportError('BAD_INPUT', `A layer (${shown(layer.mediaType)}) has no ${FILEPATH} annotation.`, { hint: 'model-import reads one-file-per-layer ModelPack artifacts.' });
    const filePath = checkRelativePath(rawPath, 'layer file path');
    if (!DIGEST.test(layer.digest) || !Number.isSafeInteger(layer.size) || layer.size < 0) {
      throw new ModelImportError('BAD_INPUT', `The layer for ${filePath} has no valid sha256 digest and size.`, { hint: 'The artifact is malformed; nothing was downloaded.' });
    }
    if (!RAW_LAYER.test(layer.mediaType ?? '')) {
      throw new ModelImportError('BAD_INPUT', `The layer for ${filePath} is ${shown(layer.mediaType)}; model-import reads uncompressed (.raw) ModelPack layers only.`, {
        hint: 'Repack the model with raw layers (modctl and kit support them).',
      });
    }
    if (layer.annotations?.[RECORD_ANNOTATION]) {
      recordLayer = layer;
      continue;
    }
    if (seen.has(filePath.toLowerCase())) throw new ModelImportError('BAD_INPUT', `Two layers claim the file ${filePath}.`, { hint: 'The artifact is malformed.' });
    seen.add(filePath.toLowerCase());
    layers.push({ path: filePath, digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
  }
  const diffIds = (modelConfig.modelfs as { diffIds?: unknown } | undefined)?.diffIds;
  if (!Array.isArray(diffIds) || diffIds.join() !== manifest.layers.map((l) => l.digest).join()) {
    warnings.push('The model config\'s modelfs.diffIds do not list the manifest\'s layers; the layer digests were checked instead.');
  }

  let record: PushedRecord | undefined;
  if (recordLayer) {
    record = parseJson<PushedRecord>(await fetchSmallBlob(client, recordLayer, 'model-import record'), 'model-import record');
    // The record's per-file hashes and the layers must tell the same story.
    for (const file of record.files ?? []) {
      const layer = layers.find((l) => l.path === file.path);
      if (layer && layer.digest !== `sha256:${file.sha256}`) {
        throw new ModelImportError('HASH_MISMATCH', `The record says ${file.path} has sha256 ${String(file.sha256).slice(0, 12)}…, its layer says otherwise; nothing was registered.`, {
          hint: 'The artifact was altered after it was pushed.',
        });
      }
    }
  }

  const configLayer = layers.find((l) => l.path === 'config.json');
  if (!configLayer) {
    throw new ModelImportError('BAD_INPUT', 'The model artifact has no config.json layer, so it is not a transformers model model-import can import.', {
      hint: 'model-import imports safetensors checkpoints with a Hugging Face config.json.',
    });
  }
  const config = parseJson<ModelConfig>(await fetchSmallBlob(client, configLayer, 'config.json'), 'config.json');
  return { manifestDigest, manifest, modelConfig, config, layers, record, warnings };
}
