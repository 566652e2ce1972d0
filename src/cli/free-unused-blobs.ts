/**
 * Which blobs of a models folder no model uses, and freeing them: shared by `remove` (gc on remove) and `gc`.
 * A blob is used while a model folder links it (BlobStore.gc looks at the link count) or a registered model lists
 * it among its source files (a rewritten model's download, kept so another import of that commit downloads nothing).
 */
import { BlobStore, type GcResult } from '../kernel/blob-store.js';
import type { Registry } from '../kernel/registry.js';

export async function freeUnusedBlobs(modelsDir: string, registry: Registry): Promise<GcResult> {
  const keep = new Set<string>();
  for (const entry of Object.values((await registry.read()).models)) {
    for (const file of entry.provenance?.source_files ?? []) if (file.sha256) keep.add(file.sha256);
  }
  return (await BlobStore.open(modelsDir)).gc(keep);
}
