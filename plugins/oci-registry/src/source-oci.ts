/**
 * The import-model source for `oci://<registry>/<repository>:<tag|@digest>`: a ModelPack artifact (pushed by
 * model-import or made by another tool) becomes an import like any other: licenses shown and acknowledged
 * before any weight blob, disk space checked, blobs fetched in parallel into staging with Range resume and
 * digest checks, then converted and validated again by the kernel. A registry copy is never registered
 * unvalidated: --skip-validation is refused here.
 */
import { ModelImportError, formatBytes, safeJoin, type FetchContext, type FetchedFile, type LicenseInfo, type ModelImportPlugin, type SourcePlan } from '../../../src/index.js';
import { selectFiles } from '../../../src/index.js';
import { downloadBlob, type BlobTarget } from './blob-download.js';
import { findCredentials } from './credentials.js';
import { readArtifact, type ResolvedArtifact } from './read-artifact.js';
import { formatReference, insecureList, parseReference, registryBaseUrl, type OciReference } from './reference.js';
import { RegistryClient } from './registry-client.js';
import { runPool, Slots } from './run-pool.js';

export const NAME = 'model-import/source-oci';

export interface SourceOciOptions {
  /** Blobs fetched at once (default 4). */
  parallel?: number;
  /** Ranged GETs in flight at once over all blobs of a pull (default 8, as the hub source). */
  connections?: number;
  /** Largest range of one GET (default 32 MiB, as the hub source). */
  rangeSize?: number;
}

const DEFAULT_CONNECTIONS = 8;

/** "652.6 MB to download, 335.5 MB already here" when the store holds some of the blobs. */
async function sayWhatIsHere(targets: BlobTarget[], context: FetchContext): Promise<void> {
  if (!context.blobs) return;
  let here = 0;
  let total = 0;
  for (const t of targets) {
    total += t.size;
    if (await context.blobs.has(t.digest.slice('sha256:'.length), t.size)) here += t.size;
  }
  if (here > 0) context.reporter.info(`${formatBytes(total - here)} to download, ${formatBytes(here)} already here.`, NAME);
}

interface OciData {
  ref: OciReference;
  baseUrl: string;
  manifestDigest: string;
  layers: Record<string, { digest: string; size: number }>;
  upstream: { source?: string; created_at?: string; license_acknowledged_at?: string | null };
}

function licenseOf(artifact: ResolvedArtifact): LicenseInfo | undefined {
  if (artifact.record?.license) {
    const l = artifact.record.license;
    return { ...(l.id ? { id: l.id } : {}), ...(l.name ? { name: l.name } : {}), ...(l.link ? { link: l.link } : {}) };
  }
  const licenses = (artifact.modelConfig.descriptor as { licenses?: unknown } | undefined)?.licenses;
  const ids = Array.isArray(licenses) ? licenses.filter((l): l is string => typeof l === 'string' && /^[\w.+-]{1,64}$/.test(l)) : [];
  return ids.length ? { id: ids.join(' AND '), name: ids.join(', ') } : undefined;
}

async function clientFor(ref: OciReference, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal): Promise<RegistryClient> {
  const credentials = await findCredentials(ref.registry, {}, env);
  return new RegistryClient({ ref, baseUrl: registryBaseUrl(ref.registry, insecureList(env)), credentials, signal, actions: 'pull' });
}

export function sourceOci(options: SourceOciOptions = {}): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'source',
    claims: ['oci://<registry>/<repository>:<tag|@digest>'],
    apply({ hooks }) {
      hooks.resolve.tapPromise({ name: NAME, stage: -20 }, async (request, context) => {
        if (!request.spec.startsWith('oci://')) return undefined;
        const ref = parseReference(request.spec);
        if (context.options.skipValidation) {
          throw new ModelImportError('USAGE', 'A model from a registry is always validated again; --skip-validation is refused for oci:// imports.', {
            hint: 'Drop --skip-validation.',
          });
        }
        const client = await clientFor(ref, context.env, context.signal);
        const artifact = await readArtifact(client);
        for (const warning of artifact.warnings) context.reporter.warn(warning, NAME);
        const descriptor = (artifact.modelConfig.descriptor ?? {}) as { name?: unknown; revision?: unknown };
        const record = artifact.record;
        // Which files an import needs is decided as for a hub repo (one weights format, configs, tokenizer, license).
        const selection = selectFiles(
          artifact.layers.map((l) => ({ path: l.path, size: l.size, sha256: l.digest.slice('sha256:'.length) })),
          formatReference(ref),
        );
        const modelId = record?.model_id ?? (typeof descriptor.name === 'string' && /^[\w.-]+(\/[\w.-]+)?$/.test(descriptor.name) ? descriptor.name : ref.repository);
        const commit = record?.provenance?.commit ?? (typeof descriptor.revision === 'string' && /^[\w.-]{1,64}$/.test(descriptor.revision) ? descriptor.revision : undefined);
        const plan: SourcePlan = {
          source: 'oci',
          resolvedBy: NAME,
          modelId,
          revision: record?.provenance?.revision ?? undefined,
          commit,
          config: artifact.config,
          files: selection.files,
          license: licenseOf(artifact),
          data: {
            ref: { ...ref, digest: artifact.manifestDigest },
            baseUrl: client.baseUrl,
            manifestDigest: artifact.manifestDigest,
            layers: Object.fromEntries(artifact.layers.map((l) => [l.path, { digest: l.digest, size: l.size }])),
            upstream: { source: record?.source, created_at: record?.created_at, license_acknowledged_at: record?.license?.acknowledged_at },
          } satisfies OciData as unknown as Record<string, unknown>,
        };
        return plan;
      });

      hooks.fetch.tapPromise(NAME, async (plan, context) => {
        if (plan.resolvedBy !== NAME) return undefined;
        const data = plan.data as unknown as OciData;
        // Pinned to the digest resolved above: a tag moved meanwhile cannot mix two artifacts.
        const client = await clientFor(data.ref, context.env, context.signal);
        // Files with the same content share one blob (and one partial file): fetch each digest once, link the rest.
        const byDigest = new Map<string, BlobTarget>();
        for (const file of plan.files) {
          const { digest, size } = data.layers[file.path];
          const known = byDigest.get(digest);
          const dest = safeJoin(context.rawDir, file.path);
          if (known) known.dests.push(dest);
          else byDigest.set(digest, { digest, size, dests: [dest] });
        }
        const targets = [...byDigest.values()];
        await sayWhatIsHere(targets, context);
        const connections = options.connections ?? DEFAULT_CONNECTIONS;
        const slots = new Slots(connections);
        let bytesDownloaded = 0;
        // Biggest first: the large weights blob starts at once and small files fill the connections it leaves.
        targets.sort((a, b) => b.size - a.size);
        await runPool(targets, options.parallel ?? 4, async (target) => {
          const name = plan.files.find((f) => data.layers[f.path].digest === target.digest)!.path;
          const task = context.reporter.task(name, target.size, 'download');
          try {
            const result = await downloadBlob(client, target, {
              blobs: context.blobs,
              partialDir: context.partialDir,
              signal: context.signal,
              slots,
              connections,
              rangeSize: options.rangeSize,
              onProgress: (n) => task.advance(n),
              onResume: (n) => task.resumeFrom(n),
              onWarn: (message) => context.reporter.warn(message, NAME),
            });
            if (result.how === 'store') task.resumeFrom(target.size);
            task.end(result.how === 'resumed' ? 'resumed' : 'done');
            bytesDownloaded += result.downloaded;
          } catch (error) {
            task.end('failed');
            throw error;
          }
        });
        const fetched: FetchedFile[] = plan.files.map((file) => {
          const layer = data.layers[file.path];
          return { path: file.path, size: layer.size, sha256: layer.digest.slice('sha256:'.length) };
        });
        return { files: fetched, bytesDownloaded };
      });

      hooks.register.tapPromise(NAME, async (entry, context) => {
        if (context.plan.resolvedBy !== NAME) return entry;
        const data = context.plan.data as unknown as OciData;
        return {
          ...entry,
          oci: {
            pulled_from: `${data.ref.registry}/${data.ref.repository}@${data.manifestDigest}`,
            ...(data.ref.tag ? { tag: data.ref.tag } : {}),
            upstream_source: data.upstream.source ?? null,
            upstream_created_at: data.upstream.created_at ?? null,
            upstream_license_acknowledged_at: data.upstream.license_acknowledged_at ?? null,
          },
        };
      });
    },
  };
}
