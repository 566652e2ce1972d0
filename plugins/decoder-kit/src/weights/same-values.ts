/**
 * Whether two tensors hold the same values, streamed (a tied lm_head copy is V×H, hundreds of MB). Same dtype:
 * bytes are compared; different dtypes: both are widened to F32 (exact for BF16/F16) and compared.
 */
import type { SourceTensor } from './source-checkpoint.js';
import { convertFloatChunks, type FloatDtype } from './formats.js';

export async function sameValues(a: SourceTensor, b: SourceTensor, chunkBytes: number, signal?: AbortSignal): Promise<boolean> {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const left = a.dtype === b.dtype ? a.chunks(chunkBytes, signal) : convertFloatChunks(a.chunks(chunkBytes, signal), a.dtype as FloatDtype, 'F32');
  const right = a.dtype === b.dtype ? b.chunks(chunkBytes, signal) : convertFloatChunks(b.chunks(chunkBytes, signal), b.dtype as FloatDtype, 'F32');
  return sameStreams(left, right);
}

/** Compares two byte streams whose chunk boundaries may differ. */
export async function sameStreams(left: AsyncIterable<Uint8Array>, right: AsyncIterable<Uint8Array>): Promise<boolean> {
  const l = left[Symbol.asyncIterator]();
  const r = right[Symbol.asyncIterator]();
  let a: Uint8Array = new Uint8Array(0);
  let b: Uint8Array = new Uint8Array(0);
  let aDone = false;
  let bDone = false;
  try {
    for (;;) {
      if (a.length === 0 && !aDone) {
        const next = await l.next();
        if (next.done) aDone = true;
        else a = next.value;
        continue;
      }
      if (b.length === 0 && !bDone) {
        const next = await r.next();
        if (next.done) bDone = true;
        else b = next.value;
        continue;
      }
      if (a.length === 0 || b.length === 0) return a.length === 0 && b.length === 0 && aDone && bDone;
      const n = Math.min(a.length, b.length);
      if (Buffer.compare(a.subarray(0, n), b.subarray(0, n)) !== 0) return false;
      a = a.subarray(n);
      b = b.subarray(n);
    }
  } finally {
    await l.return?.();
    await r.return?.();
  }
}
