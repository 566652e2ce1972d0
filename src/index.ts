/**
 * The public entry point of model-import: everything a plugin author or an embedding program needs.
 * What is exported here follows semver; anything reached by a deeper path is internal and may change.
 */
export * from './kernel/types.js';
export * from './kernel/errors.js';
export { Reporter } from './kernel/reporter.js';
export type { ReporterEvent, ReporterListener, TaskHandle, StageName } from './kernel/reporter.js';
export { NonInteractivePrompter, notInteractive } from './kernel/prompter.js';
export type { Prompter, Choice } from './kernel/prompter.js';
export { ValidationReport } from './kernel/validation-report.js';
export { createHooks } from './kernel/hooks.js';
export { Kernel, architectureKey } from './kernel/kernel.js';
export type { KernelIo, LoadedPlugin } from './kernel/kernel.js';
export type { KernelHooks } from './kernel/hooks.js';
export { isPlugin } from './kernel/plugin.js';
export type { ModelImportPlugin, PluginHost, PluginKind } from './kernel/plugin.js';
export { BlobStore, BLOBS_DIR } from './kernel/blob-store.js';
export type { GcResult, Placement } from './kernel/blob-store.js';
export { checkRelativePath, safeJoin } from './util/safe-path.js';
export { sha256File } from './util/hash-file.js';
export { formatBytes } from './util/format-bytes.js';
export { defaultMemoryBudget, memoryLimit } from './util/memory-limit.js';
export type { MemoryLimit, MemoryLimitOptions } from './util/memory-limit.js';
export { acquireOwnerLock, processAlive } from './util/owner-lock.js';
export type { OwnerLockOptions } from './util/owner-lock.js';
export { defineConfig } from './config/define-config.js';
export type { ModelImportConfig, PluginEntry } from './config/define-config.js';
// File formats every adapter needs: strict safetensors reading/writing and a pickle reader that executes nothing.
export * from './formats/safetensors/index.js';
export * from './formats/pickle/index.js';
// The path policy: everything written, renamed or deleted stays under the models folder, with no link on the way.
export { assertInside, entryFolder, ensureFolderInside, ensureModelsFolder, removeInside, NO_FOLLOW } from './util/path-policy.js';
export { terminalSafe } from './util/terminal-text.js';

// Shared by every source plugin (hub, local folder, OCI registry): which files of a checkpoint to fetch, and the
// one retry policy (budgets, backoff, Retry-After) every network request follows.
export { hubCacheDir, repoFolderName, selectFiles, type ListedFile, type Selection } from './formats/hf-layout.js';
export {
  RetryTracker,
  TransientError,
  abortReason,
  asTransient,
  backoffDelay,
  isRetryableStatus,
  retryAfterMs,
  sleep,
  type RetryPolicy,
} from './util/retry-policy.js';
export { PartialFile } from './transfer/partial-file.js';
export { IntervalSet } from './transfer/interval-set.js';
export { OrderedHasher } from './transfer/ordered-hasher.js';
export type { Digests } from './transfer/ordered-hasher.js';
export { chunkSizeFor } from './transfer/chunk-size.js';
export { BatchWriter } from './transfer/batch-writer.js';
