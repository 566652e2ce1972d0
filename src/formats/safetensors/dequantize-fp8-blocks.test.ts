import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { checkFp8Layout, dequantizeFp8Rows } from './dequantize-fp8-blocks.js';
import { f8e4m3ToF32 } from './f8-e4m3.js';

describe('float8_e4m3fn decode', () => {
  it('decodes the landmarks exactly: zero, one, max 448, min subnormal, NaN, and no infinity', () => {
    expect(f8e4m3ToF32(0x00)).toBe(0);
    expect(Object.is(f8e4m3ToF32(0x80), -0)).toBe(true);
    expect(f8e4m3ToF32(0x38)).toBe(1); // exponent 7 = bias
    expect(f8e4m3ToF32(0x7e)).toBe(448);
    expect(f8e4m3ToF32(0xfe)).toBe(-448);
    expect(f8e4m3ToF32(0x01)).toBe(2 ** -9);
    expect(f8e4m3ToF32(0x07)).toBe(7 * 2 ** -9);
    expect(f8e4m3ToF32(0x08)).toBe(2 ** -6); // smallest normal
    expect(f8e4m3ToF32(0x78)).toBe(256); // exponent 15 is a normal exponent in the fn variant
    expect(f8e4m3ToF32(0x7f)).toBeNaN();
    expect(f8e4m3ToF32(0xff)).toBeNaN();
    let nans = 0;
    for (let b = 0; b < 256; b++) {
      const v = f8e4m3ToF32(b);
      if (Number.isNaN(v)) nans++;
      else expect(Number.isFinite(v)).toBe(true);
    }
    expect(nans).toBe(2);
  });

  it('is monotonic over the positive codes (every code a distinct value)', () => {
    for (let b = 1; b < 0x7f; b++) expect(f8e4m3ToF32(b)).toBeGreaterThan(f8e4m3ToF32(b - 1));
  });
});

describe('block dequantisation', () => {
  it('multiplies each block by its own scale_inv, ragged last blocks included', () => {
    // 3x5 weight in 2x2 blocks: scale grid 2x3; every byte 0x38 (= 1.0) so out = the block's scale.
    const layout = { shape: [3, 5], scaleShape: [2, 3], block: [2, 2] as const };
    checkFp8Layout('w', layout);
    const scales = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = dequantizeFp8Rows(layout, new Uint8Array(15).fill(0x38), scales, 0, 3);
    expect([...out]).toEqual([1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6]);
    // a band starting mid-tensor picks the same scales
    expect([...dequantizeFp8Rows(layout, new Uint8Array(5).fill(0x38), scales, 2, 1)]).toEqual([4, 4, 5, 5, 6]);
  });

  it('fused experts [E, R, C] use one scale grid per expert', () => {
    const layout = { shape: [2, 2, 2], scaleShape: [2, 1, 1], block: [128, 128] as const };
    const out = dequantizeFp8Rows(layout, Uint8Array.from([0x38, 0x40, 0x38, 0x40, 0x38, 0x40, 0x38, 0x40]), Float32Array.from([0.5, 3]), 0, 4);
    expect([...out]).toEqual([0.5, 1, 0.5, 1, 3, 6, 3, 6]);
  });

  it('refuses a scale grid that does not match the weight, naming the tensor', () => {
    try {
      checkFp8Layout('model.layers.0.mlp.down_proj', { shape: [300, 256], scaleShape: [2, 2], block: [128, 128] });
      expect.unreachable();
    } catch (error) {
      expect(isModelImportError(error) && error.code).toBe('CONVERSION_FAILED');
      expect((error as Error).message).toContain('model.layers.0.mlp.down_proj.weight_scale_inv');
      expect((error as Error).message).toContain('[3, 2]');
    }
  });
});
