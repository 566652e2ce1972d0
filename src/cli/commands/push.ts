/**
 * `model-import push <name> <registry>/<repository>:<tag>`: a registered model to an OCI registry as a CNCF
 * ModelPack artifact (the work is the oci-registry plugin's; this command reads the registry entry, reports,
 * and records where the model was pushed in its entry and metadata.json).
 */
import path from 'node:path';
import { BlobStore } from '../../kernel/blob-store.js';
import { Registry } from '../../kernel/registry.js';
import { modelNotFound, interruptionError } from '../../kernel/pipeline-errors.js';
import { findName } from '../../kernel/model-name.js';
import { writeMetadata } from '../../kernel/metadata.js';
import type { ModelEntry } from '../../kernel/types.js';
import { formatBytes } from '../render/format.js';
import { loadSession, type GlobalArgs } from '../setup.js';
import { printJson, reportError } from '../output.js';
import { parseSize } from '../parse-size.js';

export interface PushArgs extends GlobalArgs {
  name: string;
  target: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  chunkSize?: string;
  maxLayerSize?: string;
  parallel?: number;
}

interface OciPlugin {
  pushModel: typeof import('../../../plugins/oci-registry/src/push-model.js').pushModel;
}

export async function pushCommand(args: PushArgs): Promise<number> {
  const secrets = [args.password, process.env.MODEL_IMPORT_REGISTRY_PASSWORD];
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(interruptionError(signal === 'SIGTERM' ? 'TERMINATED' : 'INTERRUPTED'));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const session = await loadSession(args, false);
    const registry = new Registry(session.modelsDir);
    const data = await registry.read();
    const key = findName(args.name, Object.keys(data.models));
    if (!key) throw modelNotFound(args.name, session.modelsDir);
    const entry = data.models[key];
    // The CLI names the shipped plugin, as for the built-in sources; the kernel does not.
    const { pushModel } = (await import(new URL('../../../plugins/oci-registry/index.js', import.meta.url).href)) as OciPlugin;
    const quiet = args.json;
    const result = await pushModel({
      entry,
      modelDir: path.join(session.modelsDir, entry.path ?? key),
      target: args.target,
      // Beside the downloads' partials in the blob store: every resumable transfer of a models folder in one place.
      stateDir: path.join((await BlobStore.open(session.modelsDir)).partialDir, 'oci-push'),
      username: args.username,
      password: args.password,
      insecure: args.insecure,
      chunkSize: args.chunkSize ? parseSize(args.chunkSize, '--chunk-size') : undefined,
      maxLayerSize: args.maxLayerSize ? parseSize(args.maxLayerSize, '--max-layer-size') : undefined,
      parallel: args.parallel,
      env: process.env,
      signal: controller.signal,
      onBlob: (file, outcome, size) => {
        if (quiet) process.stderr.write(`${JSON.stringify({ type: 'blob', path: file, outcome, size })}\n`);
        else process.stderr.write(`  ${outcome.padEnd(8)} ${file} (${formatBytes(size)})\n`);
      },
    });
    const pushed = { reference: result.reference, digest: result.digest, pushed_at: new Date().toISOString() };
    const updated = await registry.update((current) => {
      const model = current.models[key];
      if (!model) return undefined;
      const earlier = ((model.pushed_to as (typeof pushed)[] | undefined) ?? []).filter((p) => p.reference !== pushed.reference);
      model.pushed_to = [...earlier, pushed];
      return model;
    });
    if (updated) await writeMetadata(path.join(session.modelsDir, (updated as ModelEntry).path ?? key), updated as ModelEntry);
    if (args.json) {
      printJson({ ok: true, pushed: { ...pushed, blobs: result.blobs, bytesUploaded: result.bytesUploaded } });
    } else {
      const b = result.blobs;
      process.stdout.write(
        `Pushed "${entry.model_name}" to ${result.reference}@${result.digest}\n` +
          `  ${b.uploaded} blobs uploaded${b.resumed ? `, ${b.resumed} resumed` : ''}, ${b.present} already there, ${b.mounted} mounted (${formatBytes(result.bytesUploaded)} sent)\n` +
          `Import it elsewhere with:  model-import import-model oci://${result.reference}@${result.digest}\n`,
      );
    }
    return 0;
  } catch (error) {
    return reportError(error, { json: args.json, debug: args.debug, secrets });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
