/**
 * bfloat16 <-> float32. BF16 is the top half of an F32, so widening is exact (bits << 16); narrowing rounds to
 * nearest, ties to even, like PyTorch's `.to(torch.bfloat16)`, and keeps NaN a (quiet) NaN instead of letting
 * the rounding carry turn it into infinity. Arrays are in platform byte order, little-endian on every target.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16BitsToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  return roundToBf16(u32[0]);
}

function roundToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x0040) & 0xffff; // NaN stays NaN (quiet)
  // For every non-NaN input the sum stays below 2^32 (at most 0xFF807FFF for -Inf), so >>> cannot wrap.
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  let i = 0;
  if (src.byteOffset % 4 === 0) {
    // Two bf16 per 32-bit load (little-endian: the first in the low half): ~1.5x the one-by-one loop in V8.
    const pairs = new Uint32Array(src.buffer, src.byteOffset, src.length >>> 1);
    for (let k = 0; k < pairs.length; k++) {
      const two = pairs[k];
      out[i++] = two << 16;
      out[i++] = two & 0xffff0000;
    }
  }
  for (; i < src.length; i++) out[i] = src[i] << 16;
  return dst;
}

export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = roundToBf16(bits[i]);
  return dst;
}
