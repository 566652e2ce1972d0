/**
 * A fine-grained FP8 checkpoint (quantization_config quant_method "fp8": F8_E4M3 weights, each with a float32 or
 * bf16 `<name>_scale_inv` per weight_block_size block) seen as the float32 checkpoint it dequantises to. Each FP8
 * weight becomes a float32 tensor of the same name and shape whose chunks are dequantised a band of rows at a time
 * (w = fp8 · scale_inv[r / br, c / bc], transformers' Fp8Dequantize); its scale tensor is consumed. The rest of the
 * conversion (inventory, rewrite to bf16 / f32) then works on ordinary float tensors, and the written checkpoint
 * holds exactly the weights transformers computes with.
 */
import { ModelImportError, bf16BitsToF32, checkFp8Layout, dequantizeFp8Rows, type Fp8BlockLayout } from '../../../../src/index.js';
import type { QuantizationReading } from '../config/read-quantization.js';
import type { SourceTensor } from './source-checkpoint.js';

export interface DequantizedFp8 {
  /** The checkpoint's tensors with FP8 weights as float32 and their scale tensors removed. */
  tensors: SourceTensor[];
  /** Names of the weights that were FP8. */
  dequantized: string[];
  /** Names of the scale tensors consumed. */
  scales: string[];
}

const SCALE_SUFFIX = '_scale_inv';
/** Output buffers in flight: the rewrite reads one chunk ahead while the writer converts the previous one. */
const OUTPUT_BUFFERS = 3;

export function dequantizedFp8(tensors: readonly SourceTensor[], quantization: QuantizationReading): DequantizedFp8 {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const consumed = new Set<string>();
  const dequantized: string[] = [];
  const out: SourceTensor[] = [];
  for (const tensor of tensors) {
    if (tensor.dtype !== 'F8_E4M3') continue;
    const scale = byName.get(`${tensor.name}${SCALE_SUFFIX}`);
    if (!scale) fail(`${tensor.name} is F8_E4M3 but the checkpoint has no ${tensor.name}${SCALE_SUFFIX}`);
    if (scale.dtype !== 'F32' && scale.dtype !== 'BF16') fail(`${scale.name} is ${scale.dtype}, expected F32 or BF16`);
    const layout: Fp8BlockLayout = { shape: tensor.shape, scaleShape: scale.shape, block: quantization.blockSize };
    checkFp8Layout(tensor.name, layout);
    consumed.add(scale.name);
    dequantized.push(tensor.name);
  }
  for (const tensor of tensors) {
    if (consumed.has(tensor.name)) continue;
    if (tensor.dtype !== 'F8_E4M3') {
      out.push(tensor);
      continue;
    }
    const scale = byName.get(`${tensor.name}${SCALE_SUFFIX}`)!;
    const layout: Fp8BlockLayout = { shape: tensor.shape, scaleShape: scale.shape, block: quantization.blockSize };
    out.push({
      name: tensor.name,
      dtype: 'F32',
      shape: tensor.shape,
      file: tensor.file,
      byteLength: tensor.byteLength * 4,
      chunks: (chunkBytes, signal) => dequantizedChunks(tensor, scale, layout, chunkBytes, signal),
    });
  }
  return { tensors: out, dequantized, scales: [...consumed] };
}

/** The float32 bytes of an FP8 weight, whole rows per chunk (about chunkBytes each). */
async function* dequantizedChunks(
  weight: SourceTensor,
  scale: SourceTensor,
  layout: Fp8BlockLayout,
  chunkBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const scales = await readScales(scale, chunkBytes, signal);
  const columns = layout.shape[layout.shape.length - 1]!;
  const bandRows = Math.max(1, Math.floor(chunkBytes / (4 * columns)));
  const pending = new Uint8Array(bandRows * columns);
  const outputs = Array.from({ length: OUTPUT_BUFFERS }, () => new Float32Array(bandRows * columns));
  let filled = 0;
  let row = 0;
  let turn = 0;
  const emit = (): Uint8Array => {
    const rows = filled / columns;
    const target = outputs[turn++ % OUTPUT_BUFFERS]!.subarray(0, rows * columns);
    dequantizeFp8Rows(layout, pending.subarray(0, filled), scales, row, rows, target);
    row += rows;
    filled = 0;
    return new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  };
  for await (const chunk of weight.chunks(pending.length, signal)) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, pending.length - filled);
      pending.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === pending.length) yield emit();
    }
  }
  if (filled % columns !== 0) fail(`${weight.name} ends inside a row`);
  if (filled > 0) yield emit();
}

async function readScales(scale: SourceTensor, chunkBytes: number, signal?: AbortSignal): Promise<Float32Array> {
  const bytes = new Uint8Array(scale.byteLength);
  let offset = 0;
  for await (const chunk of scale.chunks(chunkBytes, signal)) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const view = new DataView(bytes.buffer);
  const values = new Float32Array(scale.byteLength / (scale.dtype === 'F32' ? 4 : 2));
  for (let i = 0; i < values.length; i++) {
    values[i] = scale.dtype === 'F32' ? view.getFloat32(4 * i, true) : bf16BitsToF32(view.getUint16(2 * i, true));
  }
  return values;
}

function fail(message: string): never {
  throw new ModelImportError('CONVERSION_FAILED', `FP8 checkpoint: ${message}.`, {
    hint: 'The FP8 checkpoint is damaged or not block-quantised as its quantization_config says; download it again.',
  });
}
