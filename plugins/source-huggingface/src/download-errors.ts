/**
 * The two ways a download stops that the user can act on, worded with what is kept: the retries for one file ran
 * out (the partial file is named, so a rerun resumes it), or the disk filled up.
 */
import { formatBytes, ModelImportError, type RetryTracker, type TransientError } from '../../../src/index.js';
import type { Target } from './download-targets.js';
import type { PartialFile } from '../../../src/index.js';
import { ProxyError, proxyHint } from './proxy-tunnel.js';
import { formatSeconds } from './range-get.js';

export function gaveUp(target: Target, partial: PartialFile, transient: TransientError, tracker: RetryTracker): ModelImportError {
  const kept = partial.done.total();
  const resume = `Run the same command again to resume: ${formatBytes(kept)} of ${target.paths[0]} is kept in ${partial.partPath}.`;
  return new ModelImportError(
    'NETWORK',
    `Downloading ${target.paths[0]} failed: ${transient.what}; gave up after ${tracker.attempts} attempts and ${formatSeconds(tracker.failingForMs())} without progress.`,
    {
      hint: transient instanceof ProxyError ? `${proxyHint(transient.proxy, new URL(target.url).hostname)} ${resume}` : resume,
      details: { path: target.paths[0], partialFile: partial.partPath, bytesKept: kept, size: target.size },
      cause: transient,
    },
  );
}

export function diskFull(target: Target, partialDir: string, cause: unknown): ModelImportError {
  return new ModelImportError('DISK_SPACE', `The disk filled up while writing ${target.paths[0]} to ${partialDir}.`, {
    hint: 'Free some space and run the same command again; what was downloaded so far is kept and resumed.',
    cause,
  });
}
