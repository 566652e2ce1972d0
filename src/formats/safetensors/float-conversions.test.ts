import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { bf16BitsToF32, bf16ToF32, f32ToBf16, f32ToBf16Bits } from './bf16.js';
import { convertFloatBytes, convertFloatChunks, convertFloatInto, type FloatDtype } from './convert.js';
import { bf16ToF16, checkedF32ToF16, f16BitsToF32, f16ToF32, f32ToF16, f32ToF16Bits } from './f16.js';

const bitsOf = (value: number) => new Uint32Array(new Float32Array([value]).buffer)[0];
const fromBits = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

/** Deterministic float32 values spread over the whole range (Math.imul PRNG). */
function randomF32(count: number, seed = 1): Float32Array {
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    bits[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return out;
}

/** Independent oracle: nearest of the two neighbouring candidates, ties to the even bit pattern. */
function nearestEven(x: number, lo: number, hi: number, value: (bits: number) => number): number {
  const dl = Math.abs(x - value(lo));
  const dh = Math.abs(value(hi) - x);
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return lo % 2 === 0 ? lo : hi;
}

describe('bf16', () => {
  it('widens at any length and any 2-byte offset (pairwise fast path and element-wise rest)', () => {
    const raw = new Uint16Array(1 + 7).map((_, i) => (i * 40503 + 0x3f80) & 0xffff);
    for (const [offset, length] of [[0, 7], [0, 6], [1, 7], [1, 6], [1, 0], [0, 1]]) {
      const src = raw.subarray(offset, offset + length); // byteOffset 2 breaks 4-byte alignment: no pairs
      const out = new Uint32Array(bf16ToF32(src).buffer);
      expect(Array.from(out)).toEqual(Array.from(src, (b) => (b << 16) >>> 0));
    }
  });

  it('widening is exact and narrowing round-trips every non-NaN bf16 value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = bf16ToF32(all);
    const back = f32ToBf16(wide);
    const wideBits = new Uint32Array(wide.buffer); // (reading wide[b] as a number would quiet signalling NaNs)
    const wrong: number[] = [];
    for (let b = 0; b < 65536; b++) {
      if (wideBits[b] !== (b << 16) >>> 0) wrong.push(b);
      if (Number.isNaN(wide[b]) ? !Number.isNaN(bf16BitsToF32(back[b])) : back[b] !== b) wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even', () => {
    expect(f32ToBf16Bits(fromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16Bits(fromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16Bits(fromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16Bits(fromBits(0x7f7fffff))).toBe(0x7f80); // max f32 rounds to inf
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(fromBits(0x7f800001))))).toBe(true); // signalling NaN stays NaN
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(fromBits(0xffffffff))))).toBe(true);
  });

  it('matches an independent nearest-even oracle on 200k random floats', () => {
    const values = randomF32(200_000);
    const out = f32ToBf16(values);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (!Number.isFinite(x)) continue;
      const lo = bitsOf(x) >>> 16;
      // The candidate above the largest finite value is infinity, which rounding treats as 2^128.
      const value = (b: number) => ((b & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bf16BitsToF32(b));
      const expected = Math.abs(x) === Math.abs(bf16BitsToF32(lo)) ? lo : nearestEven(x, lo, lo + 1, value);
      if (out[i] !== expected) expect([i, x, out[i]]).toEqual([i, x, expected]);
    }
  });
});

describe('f16', () => {
  it('round-trips every non-NaN half and decodes the special values', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const value = f16BitsToF32(h);
      const back = f32ToF16Bits(value);
      if (Number.isNaN(value) ? (back & 0x7c00) !== 0x7c00 || (back & 0x3ff) === 0 : back !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
  });

  it('rounds to nearest even, including subnormals and overflow', () => {
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // tie between 65504 (odd) and 65536: rounds to inf
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even (0)
    expect(f32ToF16Bits(3 * 2 ** -26)).toBe(1);
    expect(f32ToF16Bits(2 ** -26)).toBe(0);
    expect(f32ToF16Bits(1 / 3)).toBe(0x3555);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
  });

  it('matches an independent nearest-even oracle on random floats in the half range', () => {
    const positives: number[] = [];
    for (let h = 0; h < 0x7c00; h++) positives.push(f16BitsToF32(h));
    const values = randomF32(100_000, 7).map((x) => (Number.isFinite(x) ? (x % 70000) : 0));
    const out = f32ToF16(values);
    for (let i = 0; i < values.length; i++) {
      const x = Math.abs(values[i]);
      let lo = 0;
      let hi = positives.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positives[mid] <= x) lo = mid;
        else hi = mid;
      }
      let expected: number;
      if (x >= 65520) expected = 0x7c00;
      else if (x > 65504) expected = 0x7bff;
      else expected = positives[lo] === x ? lo : nearestEven(x, lo, hi, f16BitsToF32);
      if (values[i] < 0 || Object.is(values[i], -0)) expected |= 0x8000;
      if (out[i] !== expected) expect([i, values[i], out[i]]).toEqual([i, values[i], expected]);
    }
    expect(Array.from(f16ToF32(out).slice(0, 5))).toEqual(Array.from(out.slice(0, 5), f16BitsToF32));
  });

  it('bf16 -> f16 refuses finite values beyond 65504 and passes infinities and NaN through', () => {
    const ok = new Uint16Array([f32ToBf16Bits(65280), f32ToBf16Bits(-1.5), 0x7f80, 0xff80, 0x7fc0, f32ToBf16Bits(1e-6)]);
    const half = bf16ToF16(ok);
    expect(f16BitsToF32(half[0])).toBe(65280);
    expect(f16BitsToF32(half[1])).toBe(-1.5);
    expect(f16BitsToF32(half[2])).toBe(Infinity);
    expect(f16BitsToF32(half[3])).toBe(-Infinity);
    expect(Number.isNaN(f16BitsToF32(half[4]))).toBe(true);
    expect(f16BitsToF32(half[5])).toBe(f16BitsToF32(f32ToF16Bits(bf16BitsToF32(f32ToBf16Bits(1e-6)))));
    for (const bad of [65536, -65536, 1e30]) {
      const error = (() => {
        try {
          bf16ToF16(new Uint16Array([0, f32ToBf16Bits(bad)]), undefined, 'model.embed_tokens.weight');
        } catch (e) {
          return e;
        }
      })();
      expect(isModelImportError(error) && error.code === 'CONVERSION_FAILED').toBe(true);
      expect((error as Error).message).toMatch(/^model\.embed_tokens\.weight: element 1 is -?\d.* beyond float16's range/);
    }
    expect(() => checkedF32ToF16(new Float32Array([70000]))).toThrow(/beyond float16's range/);
  });
});

describe('convertFloatBytes / convertFloatChunks', () => {
  const source = f32ToBf16(new Float32Array([1, -2.5, 3.140625, 0, 1e-3, 65000, -7, 0.5]));
  const sourceBytes = new Uint8Array(source.buffer);

  it('converts between every pair and handles unaligned input', () => {
    const f32 = convertFloatBytes(sourceBytes, 'BF16', 'F32');
    expect(Array.from(new Float32Array(f32.buffer))).toEqual(Array.from(bf16ToF32(source)));
    const unaligned = new Uint8Array(sourceBytes.length + 1).subarray(1);
    unaligned.set(sourceBytes);
    expect(convertFloatBytes(unaligned, 'BF16', 'F32')).toEqual(f32);
    const f16 = convertFloatBytes(sourceBytes, 'BF16', 'F16');
    expect(convertFloatBytes(f16, 'F16', 'F32')).toEqual(f32); // these bf16 values are exact in f16
    expect(convertFloatBytes(f16, 'F16', 'BF16')).toEqual(sourceBytes);
    expect(convertFloatBytes(f32, 'F32', 'BF16')).toEqual(sourceBytes);
    expect(convertFloatBytes(f32, 'F32', 'F16')).toEqual(f16);
    expect(convertFloatBytes(sourceBytes, 'BF16', 'BF16')).toBe(sourceBytes);
  });

  it('streams across chunk boundaries that split elements', async () => {
    const pieces = [sourceBytes.subarray(0, 3), sourceBytes.subarray(3, 4), sourceBytes.subarray(4, 11), sourceBytes.subarray(11)];
    const out: number[] = [];
    for await (const chunk of convertFloatChunks(pieces, 'BF16', 'F32')) out.push(...chunk);
    expect(new Uint8Array(out)).toEqual(convertFloatBytes(sourceBytes, 'BF16', 'F32'));
    await expect(async () => {
      for await (const _ of convertFloatChunks([sourceBytes.subarray(0, 3)], 'BF16', 'F32')) void _;
    }).rejects.toThrow(/middle of a BF16 element/);
  });

  it('convertFloatInto writes every pair into a caller buffer, exactly as convertFloatBytes does', () => {
    const dtypes: FloatDtype[] = ['BF16', 'F16', 'F32'];
    const size = { BF16: 2, F16: 2, F32: 4 } as const;
    for (const from of dtypes) {
      const input = from === 'BF16' ? sourceBytes : convertFloatBytes(sourceBytes, 'BF16', from);
      const unaligned = new Uint8Array(input.length + 1).subarray(1);
      unaligned.set(input);
      for (const to of dtypes) {
        const dst = new Uint8Array(8 + (input.length / size[from]) * size[to]).subarray(8); // a view inside a larger buffer
        convertFloatInto(unaligned, from, to, dst);
        expect(dst).toEqual(convertFloatBytes(input, from, to));
      }
    }
    expect(() => convertFloatInto(sourceBytes, 'BF16', 'F32', new Uint8Array(4))).toThrow(/output buffer must be 32 bytes/);
    expect(() => convertFloatInto(sourceBytes.subarray(1), 'BF16', 'F32', new Uint8Array(32))).toThrow(/not a whole number of BF16/);
    const big = new Uint8Array(new Float32Array([1, 70000]).buffer);
    expect(() => convertFloatInto(big, 'F32', 'F16', new Uint8Array(4), 'x')).toThrow(/^x: element 1 is 70000, beyond float16's range/);
  });
});
