/**
 * Pushes a registered model as a ModelPack artifact: every file of its folder as one raw layer (digest = the
 * sha256 recorded at import, so nothing is hashed again), the record layer, the config, then the manifest by
 * tag. Blobs go in parallel; those already in the repository are skipped by HEAD, those in another repository
 * this model was pushed to are mounted. A re-push of an unchanged model sends no blob and the same manifest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError, safeJoin, type ModelEntry } from '../../../src/index.js';
import { uploadBlob, type BlobSource, type UploadOutcome } from './blob-upload.js';
import { findCredentials } from './credentials.js';
import {
  FILEPATH,
  MEDIA,
  RECORD_ANNOTATION,
  RECORD_FILE,
  RECORD_VERSION,
  imageManifest,
  layerMediaType,
  manifestAnnotations,
  modelConfig,
  recordOf,
  sha256Digest,
  type Descriptor,
} from './modelpack.js';
import { formatReference, parseReference, registryBaseUrl, insecureList, type OciReference } from './reference.js';
import { RegistryClient } from './registry-client.js';
import { runPool } from './run-pool.js';
import type { RetryPolicy } from '../../../src/index.js';

/** distribution's manifest body limit (4 MiB, in 2.8 and 3.x). */
const MANIFEST_LIMIT = 4 * 2 ** 20;
/** GHCR's per-layer limit, the smallest of the big registries. */
export const DEFAULT_MAX_LAYER = 10 * 1e9;
export const DEFAULT_PARALLEL = 4;

export interface PushOptions {
  entry: ModelEntry;
  modelDir: string;
  target: string;
  /** Where resumable upload state is kept (models/.blobs/partial/oci-push). */
  stateDir: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  chunkSize?: number;
  maxLayerSize?: number;
  parallel?: number;
  retry?: RetryPolicy;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  onBlob?: (path: string, outcome: UploadOutcome, size: number) => void;
}

export interface PushResult {
  reference: string;
  digest: string;
  blobs: { uploaded: number; present: number; mounted: number; resumed: number };
  bytesUploaded: number;
  manifestSize: number;
}

/** Earlier pushes of this model to the same registry: candidates for a cross-repository mount. */
function mountCandidates(entry: ModelEntry, ref: OciReference): string[] {
  const pushed = (entry.pushed_to as { reference?: string }[] | undefined) ?? [];
  const out: string[] = [];
  for (const p of pushed) {
    try {
      const earlier = parseReference(p.reference ?? '');
      if (earlier.registry === ref.registry && earlier.repository !== ref.repository) out.push(earlier.repository);
    } catch {
      // an unreadable old entry is no candidate
    }
  }
  return [...new Set(out)];
}

export async function pushModel(options: PushOptions): Promise<PushResult> {
  const { entry } = options;
  const ref = parseReference(options.target, { requireTag: true });
  if (ref.digest) throw new ModelImportError('USAGE', `Push to a tag, not a digest (${options.target}).`, { hint: 'Write registry/repository:tag.' });
  const maxLayer = options.maxLayerSize ?? DEFAULT_MAX_LAYER;
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  if (!Number.isSafeInteger(parallel) || parallel < 1 || parallel > 32) {
    throw new ModelImportError('USAGE', `--parallel must be an integer from 1 to 32, got ${String(options.parallel)}.`, { hint: `Leave it out for the default (${DEFAULT_PARALLEL}).` });
  }
  const files = entry.files.filter((f) => f.path !== 'metadata.json' && f.path !== RECORD_FILE);
  const blobs: (BlobSource & { path: string })[] = [];
  const layers: Descriptor[] = [];
  for (const file of files) {
    const full = safeJoin(options.modelDir, file.path);
    const stat = await fs.stat(full).catch(() => undefined);
    if (!stat || stat.size !== file.size) {
      throw new ModelImportError('BAD_INPUT', `${file.path} of "${entry.model_name}" is ${stat ? 'not the size recorded at import' : 'missing'}; not pushed.`, {
        hint: `Run model-import verify ${entry.model_name}, and import the model again if it fails.`,
      });
    }
    if (file.size > maxLayer) {
      throw new ModelImportError('BAD_INPUT', `${file.path} is ${file.size} bytes, over the registry layer limit of ${maxLayer} bytes; nothing was pushed.`, {
        hint: 'Import the model again with --max-shard-size (e.g. 5GB) to split its weights, or raise --max-layer-size if your registry allows larger layers.',
      });
    }
    const digest = `sha256:${file.sha256}`;
    blobs.push({ digest, size: file.size, file: full, path: file.path });
    layers.push({ mediaType: layerMediaType(file.path), digest, size: file.size, annotations: { [FILEPATH]: file.path } });
  }
  const record = recordOf(entry);
  const recordBytes = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  const recordDigest = sha256Digest(recordBytes);
  blobs.push({ digest: recordDigest, size: recordBytes.length, bytes: recordBytes, path: RECORD_FILE });
  layers.push({ mediaType: MEDIA.doc, digest: recordDigest, size: recordBytes.length, annotations: { [FILEPATH]: RECORD_FILE, [RECORD_ANNOTATION]: String(RECORD_VERSION) } });

  const configBytes = Buffer.from(JSON.stringify(modelConfig(record, layers.map((l) => l.digest))));
  const configDescriptor: Descriptor = { mediaType: MEDIA.config, digest: sha256Digest(configBytes), size: configBytes.length };
  blobs.push({ digest: configDescriptor.digest, size: configBytes.length, bytes: configBytes, path: '(config)' });
  const manifestBytes = Buffer.from(JSON.stringify(imageManifest(configDescriptor, layers, manifestAnnotations(record, entry.model_name))));
  if (manifestBytes.length > MANIFEST_LIMIT) {
    throw new ModelImportError('BAD_INPUT', `The manifest would be ${manifestBytes.length} bytes, over the registries' 4 MiB limit.`, { hint: 'The model has too many files to push as one artifact.' });
  }

  const credentials = await findCredentials(ref.registry, { username: options.username, password: options.password }, options.env);
  const insecure = options.insecure ? true : insecureList(options.env);
  const client = new RegistryClient({ ref, baseUrl: registryBaseUrl(ref.registry, insecure), credentials, retry: options.retry, signal: options.signal, actions: 'pull,push' });
  const mountFrom = mountCandidates(entry, ref);
  const counts = { uploaded: 0, present: 0, mounted: 0, resumed: 0 };
  let bytesUploaded = 0;
  // Big blobs first, so the longest transfer starts at once and small ones fill the other connections.
  const order = [...blobs].sort((a, b) => b.size - a.size);
  const unique = order.filter((b, i) => order.findIndex((o) => o.digest === b.digest) === i);
  const shared = {};
  await runPool(unique, parallel, async (blob) => {
    const outcome = await uploadBlob(client, blob, {
      // Default: each blob in one streamed request (blob-upload.ts says why); --chunk-size for picky registries.
      chunkSize: options.chunkSize,
      shared,
      stateDir: options.stateDir,
      mountFrom,
      onProgress: (n) => (bytesUploaded += n),
      signal: options.signal,
    });
    counts[outcome]++;
    options.onBlob?.(blob.path, outcome, blob.size);
  });

  const response = await client.request('PUT', client.repoUrl(`manifests/${ref.tag}`), {
    what: 'the manifest',
    body: manifestBytes,
    headers: { 'content-type': MEDIA.manifest },
  });
  await response.body?.cancel().catch(() => {});
  const digest = sha256Digest(manifestBytes);
  const echoed = response.headers.get('docker-content-digest');
  if (echoed && echoed !== digest) {
    throw new ModelImportError('NETWORK', `${ref.registry} stored the manifest under ${echoed.slice(0, 19)}…, not its digest ${digest.slice(0, 19)}….`, {
      hint: 'The registry rewrote the manifest; pull by tag, or report it to the operator.',
    });
  }
  return { reference: formatReference(ref), digest, blobs: counts, bytesUploaded, manifestSize: manifestBytes.length };
}
