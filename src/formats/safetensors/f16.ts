/**
 * IEEE half precision <-> float32, and bfloat16 -> float16. Node 20 has no Float16Array, so halves travel as
 * Uint16Array bit patterns (as transformers.js does). Narrowing rounds to nearest, ties to even. BF16 keeps
 * F32's exponent range, so BF16 -> F16 can overflow: any finite |x| > 65504 is an error, never a silent inf.
 */
import { ModelImportError } from '../../kernel/errors.js';
import { bf16BitsToF32 } from './bf16.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export const F16_MAX = 65504;

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) {
    if (mantissa === 0) return sign * Infinity;
    u32[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mantissa << 13); // NaN with its payload and sign
    return f32[0];
  }
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13));
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mantissa |= 0x800000;
    const shift = 14 - e;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let h = mantissa >>> shift;
    if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
    return sign | h; // a carry into 0x400 is the smallest normal, as it should be
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach 0x7c00 (inf): correct rounding
  return sign | h;
}

let f16Table: Float32Array | undefined;
let bf16ToF16Table: Uint16Array | undefined;
const OVERFLOW = 0xffff; // never produced by a real conversion: 0xffff is a NaN payload bf16ToF16 does not emit

function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

function narrowTable(): Uint16Array {
  if (!bf16ToF16Table) {
    bf16ToF16Table = new Uint16Array(65536);
    for (let b = 0; b < 65536; b++) {
      const value = bf16BitsToF32(b);
      bf16ToF16Table[b] = Number.isFinite(value) && Math.abs(value) > F16_MAX ? OVERFLOW : f32ToF16Bits(value);
    }
  }
  return bf16ToF16Table;
}

export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = f16ToF32Table();
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  const bits = new Uint32Array(table.buffer);
  for (let i = 0; i < src.length; i++) out[i] = bits[src[i]]; // bit copy keeps NaN payloads
  return dst;
}

/** F32 -> F16 with IEEE semantics: values beyond the range become infinity. Use checkedF32ToF16 to refuse that. */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]);
  return dst;
}

/** F32 -> F16 that refuses finite values beyond ±65504 instead of turning them into infinity. */
export function checkedF32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length), label = 'tensor'): Uint16Array {
  for (let i = 0; i < src.length; i++) {
    const value = src[i];
    if (Math.abs(value) > F16_MAX && Number.isFinite(value)) throw overflow(label, i, value);
    dst[i] = f32ToF16Bits(value);
  }
  return dst;
}

export function bf16ToF16(src: Uint16Array, dst: Uint16Array = new Uint16Array(src.length), label = 'tensor'): Uint16Array {
  const table = narrowTable();
  for (let i = 0; i < src.length; i++) {
    const h = table[src[i]];
    if (h === OVERFLOW) throw overflow(label, i, bf16BitsToF32(src[i]));
    dst[i] = h;
  }
  return dst;
}

function overflow(label: string, index: number, value: number): ModelImportError {
  return new ModelImportError(
    'CONVERSION_FAILED',
    `${label}: element ${index} is ${value}, beyond float16's range (±${F16_MAX}); converting would turn it into infinity`,
    { hint: 'Keep this model in bf16 or f32 (--dtype bf16 / --dtype f32).', details: { index, value } },
  );
}
