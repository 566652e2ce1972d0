/**
 * FP8 block-quantised checkpoints (Qwen's -FP8 releases) through the convert step: dequantised to bf16 by default
 * or to --dtype, the scale tensors dropped, quantization_config removed from the published config.json, and
 * metadata saying what the source was.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bf16ToF32, f32ToBf16, isModelImportError } from '../../../src/index.js';
import { writeRepoFiles } from '../../../test/fixtures/tiny-models.js';
import { TINY_FP8_BLOCK, makeTinyFp8Model } from '../../../test/fixtures/tiny-fp8.js';
import { tempDir } from '../../../test/support/temp.js';
import { convertFolder, editJson, editSafetensors, readAllTensors } from '../test/harness.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-fp8-'));
});
afterEach(async () => cleanup());

const raw = () => path.join(root, 'raw');
const out = () => path.join(root, 'out');
const floats = (bytes: Uint8Array) => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

describe('convert: fine-grained FP8 checkpoints are dequantised', () => {
  it('--dtype f32 writes exactly fp8 · its block\'s scale, in chunks that cut across blocks', async () => {
    const model = makeTinyFp8Model({ family: 'qwen2', seed: 5 });
    await writeRepoFiles(raw(), model.files);
    // 1000-byte chunks: row bands of a few rows, so blocks are assembled from several chunks.
    const { result } = await convertFolder(raw(), out(), { dtype: 'f32' }, { onnx: false, chunkBytes: 1000 });
    const tensors = await readAllTensors(out(), ['model.safetensors']);
    expect([...tensors.keys()].filter((n) => n.endsWith('_scale_inv'))).toEqual([]);
    expect(model.dequantized.size).toBe(14);
    for (const [name, expected] of model.dequantized) {
      const got = tensors.get(name)!;
      expect(got.dtype, name).toBe('F32');
      expect(floats(got.bytes), name).toEqual(expected);
    }
    const config = JSON.parse(await readFile(path.join(out(), 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.torch_dtype).toBe('float32');
    expect(result.dtype).toBe('f32');
    expect(result.details?.quantization).toEqual({
      source: 'fp8', format: 'F8_E4M3', weightBlockSize: TINY_FP8_BLOCK, dequantizedTo: 'f32', tensors: 14, scalesDropped: 14,
    });
    expect(result.components[0]!.detail).toMatch(/14 fp8 weights dequantised \(16x24 blocks\), 14 weight_scale_inv dropped/);
    expect(result.components[0]!.warnings).toEqual([]);
  });

  it.each(['qwen3', 'qwen3_moe'] as const)('%s defaults to bf16: the layer weights are the dequantised values rounded to bf16, the rest unchanged', async (family) => {
    const model = makeTinyFp8Model({ family, seed: 6 });
    await writeRepoFiles(raw(), model.files);
    const { result } = await convertFolder(raw(), out());
    const tensors = await readAllTensors(out(), ['model.safetensors']);
    for (const [name, expected] of model.dequantized) {
      const got = tensors.get(name)!;
      expect(got.dtype, name).toBe('BF16');
      const bits = new Uint16Array(got.bytes.buffer.slice(got.bytes.byteOffset, got.bytes.byteOffset + got.bytes.byteLength));
      expect(bf16ToF32(bits), name).toEqual(bf16ToF32(f32ToBf16(expected)));
    }
    expect(tensors.get('model.embed_tokens.weight')!.dtype).toBe('BF16');
    expect(result.dtype).toBe('bf16');
    const config = JSON.parse(await readFile(path.join(out(), 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.torch_dtype).toBe('bfloat16');
    expect(existsSync(path.join(out(), 'model.safetensors'))).toBe(true);
  });

  it('refuses an FP8 weight without its scale, or a scale grid that is not the config\'s block size, naming the tensor', async () => {
    const model = makeTinyFp8Model({ family: 'qwen2', seed: 7 });
    await writeRepoFiles(raw(), model.files);
    const file = path.join(raw(), 'model.safetensors');
    await editSafetensors(file, (ts) => ts.filter((t) => t.name !== 'model.layers.1.self_attn.o_proj.weight_scale_inv'));
    const missing = await convertFolder(raw(), out()).catch((e: unknown) => e);
    expect(isModelImportError(missing) && missing.code).toBe('CONVERSION_FAILED');
    expect((missing as Error).message).toMatch(/model\.layers\.1\.self_attn\.o_proj\.weight is F8_E4M3 but the checkpoint has no model\.layers\.1\.self_attn\.o_proj\.weight_scale_inv/);

    await writeRepoFiles(raw(), model.files);
    await editJson(path.join(raw(), 'config.json'), (c) => {
      (c.quantization_config as Record<string, unknown>).weight_block_size = [128, 128];
    });
    const grid = await convertFolder(raw(), path.join(root, 'out2')).catch((e: unknown) => e);
    expect(isModelImportError(grid) && grid.code).toBe('CONVERSION_FAILED');
    expect((grid as Error).message).toMatch(/weight_scale_inv has shape \[\d+, \d+\], expected \[1, 1\]/);
  });
});
