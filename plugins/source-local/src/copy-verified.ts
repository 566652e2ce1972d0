/**
 * Copies a file into staging in one pass that also hashes it, so the registered copy is what was hashed.
 * (A hard link would be cheaper, but would let a later edit of the user's folder change the registered model.)
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TaskHandle } from '../../../src/index.js';

export async function copyAndHash(from: string, to: string, task: TaskHandle, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      task.advance(chunk.length);
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(from, { highWaterMark: 4 << 20 }), tap, createWriteStream(to, { flags: 'wx' }), { signal });
  return hash.digest('hex');
}
