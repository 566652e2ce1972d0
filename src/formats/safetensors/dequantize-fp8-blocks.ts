/**
 * Block dequantisation of fine-grained FP8 weights (transformers/integrations/finegrained_fp8.py, Fp8Dequantize):
 * weight [..., R, C] in float8_e4m3fn, `weight_scale_inv` [..., ceil(R/br), ceil(C/bc)] float32, and
 * w[r, c] = f32(fp8[r, c]) * scale_inv[r / br, c / bc], in float32. The last row and column blocks may be ragged
 * (R or C not a multiple of the block); leading dimensions (fused experts) each have their own scale grid.
 * Rows are produced in order so a caller can stream a tensor a band of rows at a time.
 */
import { ModelImportError } from '../../kernel/errors.js';
import { F8_E4M3_VALUES } from './f8-e4m3.js';

export interface Fp8BlockLayout {
  /** Shape of the FP8 weight (at least 2-D). */
  shape: readonly number[];
  /** Shape of its weight_scale_inv. */
  scaleShape: readonly number[];
  block: readonly [number, number];
}

/** Checks that the scale grid is the one the weight's shape and block size imply; throws naming the tensor. */
export function checkFp8Layout(name: string, layout: Fp8BlockLayout): void {
  const { shape, scaleShape, block } = layout;
  const expected = shape.length < 2 ? undefined
    : [...shape.slice(0, -2), Math.ceil(shape[shape.length - 2]! / block[0]), Math.ceil(shape[shape.length - 1]! / block[1])];
  if (!expected || expected.length !== scaleShape.length || expected.some((n, i) => n !== scaleShape[i])) {
    throw new ModelImportError('CONVERSION_FAILED', `${name}.weight_scale_inv has shape [${scaleShape.join(', ')}], expected [${expected?.join(', ') ?? '?'}] for weight [${shape.join(', ')}] in ${block[0]}x${block[1]} blocks.`, {
      hint: 'The FP8 checkpoint is damaged or not block-quantised as its quantization_config says; download it again.',
    });
  }
}

/**
 * Dequantises rows [rowStart, rowStart + rows) of the flattened [lead * R, C] weight into `out` (float32,
 * rows * C values). `fp8` holds those rows' bytes; `scales` the whole scale tensor.
 */
export function dequantizeFp8Rows(
  layout: Fp8BlockLayout,
  fp8: Uint8Array,
  scales: Float32Array,
  rowStart: number,
  rows: number,
  out: Float32Array = new Float32Array(rows * layout.shape[layout.shape.length - 1]!),
): Float32Array {
  const R = layout.shape[layout.shape.length - 2]!;
  const C = layout.shape[layout.shape.length - 1]!;
  const [br, bc] = layout.block;
  const gridR = Math.ceil(R / br);
  const gridC = Math.ceil(C / bc);
  for (let i = 0; i < rows; i++) {
    const flatRow = rowStart + i;
    const lead = Math.floor(flatRow / R);
    const scaleRow = (lead * gridR + Math.floor((flatRow % R) / br)) * gridC;
    const src = i * C;
    for (let cb = 0; cb < gridC; cb++) {
      const s = scales[scaleRow + cb]!;
      const end = Math.min(C, (cb + 1) * bc);
      for (let c = cb * bc; c < end; c++) out[src + c] = Math.fround(F8_E4M3_VALUES[fp8[src + c]!]! * s);
    }
  }
  return out;
}
