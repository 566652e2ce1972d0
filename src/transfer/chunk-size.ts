/** How a large download is cut into ranges: shared by every source that fetches one file over several connections. */

/** Smallest range worth its own request when splitting a file over connections. */
const MIN_CHUNK = 4 << 20;

/**
 * Ranges of at most `maxChunk`, but small enough that a file alone keeps every connection busy (a 64 MiB file
 * over 8 connections goes as 8 ranges of 8 MiB), and never below MIN_CHUNK where request overhead would show.
 */
export function chunkSizeFor(size: number, maxChunk: number, connections: number): number {
  return Math.max(Math.min(maxChunk, MIN_CHUNK), Math.min(maxChunk, Math.ceil(size / connections)));
}
