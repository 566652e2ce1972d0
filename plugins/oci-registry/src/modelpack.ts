/**
 * The CNCF ModelPack artifact (modelpack/model-spec docs/spec.md, docs/config.md, docs/annotations.md): an OCI
 * image manifest with artifactType application/vnd.cncf.model.manifest.v1+json, a config blob holding only
 * what the config schema allows (every object there has additionalProperties: false), one uncompressed layer
 * per file named by org.cncf.model.filepath. model-import's own record (model id, commit, per-file sha256,
 * license and its acknowledgement, validation figures) rides in manifest annotations and one small extra layer.
 */
import { createHash } from 'node:crypto';
import type { ModelEntry } from '../../../src/index.js';

export const MEDIA = Object.freeze({
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  artifact: 'application/vnd.cncf.model.manifest.v1+json',
  config: 'application/vnd.cncf.model.config.v1+json',
  weight: 'application/vnd.cncf.model.weight.v1.raw',
  weightConfig: 'application/vnd.cncf.model.weight.config.v1.raw',
  doc: 'application/vnd.cncf.model.doc.v1.raw',
  code: 'application/vnd.cncf.model.code.v1.raw',
});

export const FILEPATH = 'org.cncf.model.filepath';
/** Marks the layer holding model-import's record (a doc layer other tools may extract as a plain file). */
export const RECORD_ANNOTATION = 'io.model-import.record';
export const RECORD_FILE = 'model-import-record.json';
export const RECORD_VERSION = 1;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** Layer media type of a model file, as ModelPack tools classify them (weights, their configs, docs, code). */
export function layerMediaType(filePath: string): string {
  const base = filePath.split('/').pop()!.toLowerCase();
  if (/\.(safetensors|onnx|onnx_data|gguf|bin|pt|pth|ckpt|h5|msgpack|tflite)$/.test(base)) return MEDIA.weight;
  if (/^(readme|license|licence|notice|copying|use_policy)(\.|$)/.test(base) || base.endsWith('.md')) return MEDIA.doc;
  if (/\.(py|sh|ipynb)$/.test(base)) return MEDIA.code;
  return MEDIA.weightConfig;
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** "0.5B", "494M": the spec's paramSize convention. */
export function paramSize(count: number): string {
  if (count >= 1e9) return `${Number((count / 1e9).toFixed(1))}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

/** What travels with the model beyond the schema: the registry entry minus local facts (folder, name). */
export interface PushedRecord {
  record_version: number;
  model_id: string;
  source: string;
  architecture_type: string;
  created_at: string;
  license: ModelEntry['license'];
  model_size: number;
  files: ModelEntry['files'];
  provenance: ModelEntry['provenance'];
  conversion: ModelEntry['conversion'];
  validation: ModelEntry['validation'];
}

export function recordOf(entry: ModelEntry): PushedRecord {
  return {
    record_version: RECORD_VERSION,
    model_id: entry.model_id,
    source: (entry.oci as { upstream_source?: string } | undefined)?.upstream_source ?? entry.source,
    architecture_type: entry.architecture_type,
    created_at: entry.created_at,
    license: entry.license,
    model_size: entry.model_size,
    files: entry.files,
    provenance: entry.provenance,
    conversion: entry.conversion,
    validation: entry.validation,
  };
}

function sourceUrl(record: PushedRecord): string | undefined {
  if (record.source === 'huggingface' && /^[\w.-]+\/[\w.-]+$/.test(record.model_id)) {
    return `https://huggingface.co/${record.model_id}${record.provenance.commit ? `/tree/${record.provenance.commit}` : ''}`;
  }
  return undefined;
}

/** The config blob: only fields of the schema, so every ModelPack reader accepts it. */
export function modelConfig(record: PushedRecord, diffIds: string[]): Record<string, unknown> {
  const url = sourceUrl(record);
  const descriptor: Record<string, unknown> = {
    name: record.model_id,
    family: record.architecture_type,
    createdAt: record.created_at,
    ...(record.license.id ? { licenses: [record.license.id] } : {}),
    ...(record.provenance.commit ? { revision: record.provenance.commit } : {}),
    ...(url ? { sourceURL: url } : {}),
  };
  return {
    descriptor,
    config: {
      architecture: record.provenance.architecture,
      format: 'safetensors',
      precision: record.conversion.dtype,
      paramSize: paramSize(record.model_size),
    },
    modelfs: { type: 'layers', diffIds },
  };
}

/** Manifest annotations: the record's headline facts, readable without fetching any blob (all strings). */
export function manifestAnnotations(record: PushedRecord, modelName: string): Record<string, string> {
  const figures = record.validation.skipped ? 'skipped' : JSON.stringify(record.validation.figures ?? {});
  return {
    'org.opencontainers.image.created': record.created_at,
    'org.opencontainers.image.title': modelName,
    ...(record.license.id ? { 'org.opencontainers.image.licenses': record.license.id } : {}),
    ...(record.provenance.commit ? { 'org.opencontainers.image.revision': record.provenance.commit } : {}),
    'io.model-import.model-id': record.model_id,
    'io.model-import.source': record.source,
    ...(record.license.acknowledged_at ? { 'io.model-import.license-acknowledged-at': record.license.acknowledged_at } : {}),
    'io.model-import.validation': figures.length > 2000 ? 'see the record layer' : figures,
  };
}

export function imageManifest(config: Descriptor, layers: Descriptor[], annotations: Record<string, string>): ImageManifest {
  return { schemaVersion: 2, mediaType: MEDIA.manifest, artifactType: MEDIA.artifact, config, layers, annotations };
}

/** A manifest of the model artifact type (artifactType, or the config media type as older tools mark it). */
export function isModelPack(manifest: ImageManifest): boolean {
  return manifest.artifactType === MEDIA.artifact || manifest.config?.mediaType === MEDIA.config;
}
