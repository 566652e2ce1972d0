/**
 * `gc`: the blob store checked and tidied. Every blob is hashed once (a blob is named by its sha256, so a changed
 * byte shows); a damaged one is taken out of the store so no later import links it, and the models that use it are
 * named (their files are the same inode: `verify` shows it, a re-import restores it). Then the blobs no model uses
 * any more are freed, as `remove` does.
 */
import { BlobStore } from '../../kernel/blob-store.js';
import { ModelImportError } from '../../kernel/errors.js';
import { Registry } from '../../kernel/registry.js';
import { formatBytes } from '../../util/format-bytes.js';
import { terminalSafe } from '../../util/terminal-text.js';
import { freeUnusedBlobs } from '../free-unused-blobs.js';
import { printJson, reportError } from '../output.js';
import { loadSession, type GlobalArgs } from '../setup.js';

export async function gcCommand(args: GlobalArgs): Promise<number> {
  try {
    const session = await loadSession(args, false);
    const store = await BlobStore.open(session.modelsDir);
    const registry = new Registry(session.modelsDir);
    const started = performance.now();
    const checked = await store.verify();
    const seconds = (performance.now() - started) / 1000;
    const models = Object.values((await registry.read()).models);
    const damaged = checked.bad.map((sha256) => ({
      sha256,
      models: models.filter((m) => [...(m.files ?? []), ...(m.provenance?.source_files ?? [])].some((f) => f.sha256 === sha256)).map((m) => m.model_name),
    }));
    for (const blob of damaged) await store.drop(blob.sha256);
    const freed = await freeUnusedBlobs(session.modelsDir, registry);
    if (args.json) {
      printJson({ ok: damaged.length === 0, checked: checked.checked, bytes_checked: checked.bytes, damaged, blobs_freed: freed.removed.length, bytes_freed: freed.bytesFreed });
    } else {
      const lines = [`Checked ${checked.checked} blob${checked.checked === 1 ? '' : 's'} (${formatBytes(checked.bytes)}) in ${seconds.toFixed(1)} s: ${damaged.length === 0 ? 'all intact' : `${damaged.length} damaged`}.`];
      for (const blob of damaged) {
        lines.push(`  ${blob.sha256.slice(0, 12)}… damaged, taken out of the store${blob.models.length ? `; used by ${blob.models.map((n) => `"${n}"`).join(', ')}` : ''}`);
      }
      lines.push(`Freed ${freed.removed.length} blob${freed.removed.length === 1 ? '' : 's'} no model uses (${formatBytes(freed.bytesFreed)}).`);
      process.stdout.write(terminalSafe(`${lines.join('\n')}\n`));
    }
    if (damaged.length === 0) return 0;
    const names = [...new Set(damaged.flatMap((b) => b.models))];
    return reportError(
      new ModelImportError('UNSAFE_LOCAL_STATE', `${damaged.length} blob${damaged.length === 1 ? '' : 's'} of ${store.blobDir} no longer match their hash.`, {
        hint: names.length
          ? `The models using them have the same damaged files: re-import ${names.map((n) => `"${n}"`).join(', ')} (import-model <repo> --on-duplicate overwrite); the next import downloads those files again.`
          : 'No registered model uses them; the next import that needs those files downloads them again.',
      }),
      { ...args, json: false },
    );
  } catch (error) {
    return reportError(error, args);
  }
}
