/**
 * Float dtype conversion over raw little-endian bytes, whole or as a stream of chunks. Bytes read from files may
 * sit at any byteOffset; typed-array views need element alignment, so unaligned input is copied first.
 */
import { ModelImportError } from '../../kernel/errors.js';
import { bf16ToF32, f32ToBf16 } from './bf16.js';
import { bf16ToF16, checkedF32ToF16, f16ToF32 } from './f16.js';

export type FloatDtype = 'F32' | 'F16' | 'BF16';

const SIZE: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** Output bytes for `count` elements of `to`. */
export function convertedByteLength(byteLength: number, from: FloatDtype, to: FloatDtype): number {
  return (byteLength / SIZE[from]) * SIZE[to];
}

/**
 * Converts whole elements. Same dtype returns the input. F16/F32 -> F16 and BF16 -> F16 refuse values beyond
 * ±65504 (CONVERSION_FAILED naming `label`).
 */
export function convertFloatBytes(bytes: Uint8Array, from: FloatDtype, to: FloatDtype, label = 'tensor'): Uint8Array {
  if (from === to) return bytes;
  if (bytes.length % SIZE[from] !== 0) {
    throw new ModelImportError('INTERNAL', `${label}: ${bytes.length} bytes is not a whole number of ${from} elements`);
  }
  const count = bytes.length / SIZE[from];
  const aligned = bytes.byteOffset % SIZE[from] === 0 ? bytes : bytes.slice();
  if (from === 'F32') {
    const src = new Float32Array(aligned.buffer, aligned.byteOffset, count);
    const out = to === 'BF16' ? f32ToBf16(src) : checkedF32ToF16(src, undefined, label);
    return new Uint8Array(out.buffer);
  }
  const src = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  if (to === 'F32') return new Uint8Array((from === 'BF16' ? bf16ToF32(src) : f16ToF32(src)).buffer);
  if (from === 'BF16') return new Uint8Array(bf16ToF16(src, undefined, label).buffer); // to F16
  // F16 -> BF16: through F32 (exact), then round.
  return new Uint8Array(f32ToBf16(f16ToF32(src)).buffer);
}

/**
 * Converts whole elements of `from` in `src` into `dst`, which must hold exactly their converted size (no
 * allocation: the caller owns and reuses `dst`). `dst` must be aligned to the output element size; unaligned
 * `src` is copied first. Same refusals as convertFloatBytes.
 */
export function convertFloatInto(src: Uint8Array, from: FloatDtype, to: FloatDtype, dst: Uint8Array, label = 'tensor'): void {
  if (src.length % SIZE[from] !== 0) {
    throw new ModelImportError('INTERNAL', `${label}: ${src.length} bytes is not a whole number of ${from} elements`);
  }
  const count = src.length / SIZE[from];
  if (dst.length !== count * SIZE[to] || dst.byteOffset % SIZE[to] !== 0) {
    throw new ModelImportError('INTERNAL', `${label}: the output buffer must be ${count * SIZE[to]} bytes aligned to ${SIZE[to]}`);
  }
  if (from === to) {
    dst.set(src);
    return;
  }
  const aligned = src.byteOffset % SIZE[from] === 0 ? src : src.slice();
  if (from === 'F32') {
    const input = new Float32Array(aligned.buffer, aligned.byteOffset, count);
    const out = new Uint16Array(dst.buffer, dst.byteOffset, count);
    if (to === 'BF16') f32ToBf16(input, out);
    else checkedF32ToF16(input, out, label);
    return;
  }
  const input = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  if (to === 'F32') {
    const out = new Float32Array(dst.buffer, dst.byteOffset, count);
    if (from === 'BF16') bf16ToF32(input, out);
    else f16ToF32(input, out);
  } else if (from === 'BF16') {
    bf16ToF16(input, new Uint16Array(dst.buffer, dst.byteOffset, count), label); // to F16
  } else {
    f32ToBf16(f16ToF32(input), new Uint16Array(dst.buffer, dst.byteOffset, count)); // F16 -> BF16 through F32 (exact)
  }
}

/** Bytes per element of a float dtype. */
export function floatDtypeSize(dtype: FloatDtype): number {
  return SIZE[dtype];
}

/**
 * Converts a stream of chunks that may split elements anywhere; the remainder is carried to the next chunk.
 * Memory: one input chunk and its converted copy.
 */
export async function* convertFloatChunks(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  from: FloatDtype,
  to: FloatDtype,
  label = 'tensor',
): AsyncGenerator<Uint8Array> {
  const size = SIZE[from];
  let carry = new Uint8Array(0);
  for await (const chunk of chunks) {
    let bytes = chunk;
    if (carry.length > 0) {
      bytes = new Uint8Array(carry.length + chunk.length);
      bytes.set(carry, 0);
      bytes.set(chunk, carry.length);
    }
    const whole = bytes.length - (bytes.length % size);
    carry = bytes.slice(whole);
    if (whole > 0) yield convertFloatBytes(bytes.subarray(0, whole), from, to, label);
  }
  if (carry.length > 0) {
    throw new ModelImportError('CONVERSION_FAILED', `${label}: data ends in the middle of a ${from} element`);
  }
}
