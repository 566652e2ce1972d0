/**
 * Conversion of the hybrid Qwen checkpoints (tiny fixtures with the real names): every published tensor kept
 * bit-exact (text decoder, vision tower, MTP head), layer_types written into the published config when the source
 * has only full_attention_interval, the parts recorded for metadata, and the projection layouts each family ships.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { tempDir } from '../../../test/support/temp.js';
import { writeRepoFiles } from '../../../test/fixtures/tiny-models.js';
import { makeTinyHybridModel, tinyHybridTensors, type TinyHybridOptions } from '../../../test/fixtures/tiny-hybrid-models.js';
import { convertFolder, editSafetensors, readAllTensors } from '../test/harness.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-hybrid-'));
});
afterEach(async () => cleanup());

async function writeHybrid(name: string, options: TinyHybridOptions): Promise<{ raw: string; out: string }> {
  const raw = path.join(root, name, 'raw');
  await writeRepoFiles(raw, makeTinyHybridModel(options));
  return { raw, out: path.join(root, name, 'out') };
}

const count = (options: TinyHybridOptions, prefix: string) => tinyHybridTensors(options).filter((t) => t.name.startsWith(prefix)).length;

const VARIANTS: Array<[string, TinyHybridOptions, string]> = [
  ['Qwen3-Next (fused projections, per-expert MoE, MTP head)', { family: 'qwen3_next', seed: 21 }, ''],
  ['Qwen3.5 wrapper (split projections, dense MLP, vision tower, MTP head)', { family: 'qwen3_5', seed: 22 }, 'text_config.'],
  ['Qwen3.5-MoE wrapper (fused 3-D experts)', { family: 'qwen3_5_moe', seed: 23 }, 'text_config.'],
  ['Qwen3_5ForCausalLM re-save', { family: 'qwen3_5', seed: 24, textOnly: true }, ''],
  ['Qwen3_5MoeForCausalLM re-save', { family: 'qwen3_5_moe', seed: 25, textOnly: true }, ''],
];

describe('hybrid checkpoints convert with every tensor kept', () => {
  it.each(VARIANTS)('%s: linked, bit-exact, parts recorded; layer_types written only when derived', async (_name, options, where) => {
    const { raw, out } = await writeHybrid('a', options);
    const { result } = await convertFolder(raw, out);
    expect((await stat(path.join(out, 'model.safetensors'))).ino).toBe((await stat(path.join(raw, 'model.safetensors'))).ino);
    const source = await readAllTensors(raw, ['model.safetensors']);
    const written = await readAllTensors(out, ['model.safetensors']);
    expect([...written.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [name, t] of source) expect(written.get(name)!.bytes, name).toEqual(t.bytes);

    const visual = count(options, 'model.visual.');
    const mtp = count(options, 'mtp.');
    const parts = (result.details as { parts: { text_decoder: { tensors: number }; kept_not_validated: Array<{ part: string; tensors: number; bytes: string }> } }).parts;
    expect(parts.text_decoder.tensors).toBe(source.size - visual - mtp);
    expect(parts.kept_not_validated.map((p) => [p.part, p.tensors, p.bytes])).toEqual([
      ...(visual > 0 ? [['vision tower', visual, 'as published']] : []),
      ['MTP head', mtp, 'as published'],
    ]);
    expect(result.components[0]!.detail).toContain(`not validated: ${visual > 0 ? `${visual} vision tower + ` : ''}${mtp} MTP head tensors`);
    // The stored config is byte-identical when it already has layer_types.
    expect(await readFile(path.join(out, 'config.json'))).toEqual(await readFile(path.join(raw, 'config.json')));

    const derived = await writeHybrid('b', { ...options, intervalOnly: true });
    const second = await convertFolder(derived.raw, derived.out);
    const published = JSON.parse(await readFile(path.join(derived.out, 'config.json'), 'utf8'));
    const fetched = JSON.parse(await readFile(path.join(derived.raw, 'config.json'), 'utf8'));
    const text = where ? published.text_config : published;
    expect(text.layer_types).toEqual(['linear_attention', 'linear_attention', 'linear_attention', 'full_attention']);
    expect(text.full_attention_interval).toBe(4); // kept beside it: transformers reads layer_types first
    if (where) delete published.text_config.layer_types;
    else delete published.layer_types;
    expect(published).toEqual(fetched);
    expect(second.result.components.find((c) => c.component === 'config')!.detail).toContain(`${where}layer_types written (4 layers, derived from full_attention_interval)`);
  });

  it('--dtype f32 converts the vision tower and the MTP head with the rest, exactly, and says so', async () => {
    const options: TinyHybridOptions = { family: 'qwen3_5', seed: 26 };
    const { raw, out } = await writeHybrid('a', options);
    const { result } = await convertFolder(raw, out, { dtype: 'f32' });
    const weights = result.components[0]!;
    expect(weights.warnings.join()).toMatch(/the vision tower \(11 tensors\) and the MTP head \(7 tensors\) were converted to f32 too, although only the text decoder is validated/);
    expect(weights.detail).toContain('converted to f32 with the rest, not validated: 11 vision tower + 7 MTP head tensors');
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    expect([config.dtype, config.torch_dtype, config.text_config.dtype]).toEqual(['float32', 'float32', 'float32']);
    const source = await readAllTensors(raw, ['model.safetensors']);
    const widened = await readAllTensors(out, ['model.safetensors']);
    for (const name of ['model.visual.merger.linear_fc2.weight', 'mtp.fc.weight']) {
      const half = new Uint16Array(source.get(name)!.bytes.slice().buffer);
      const bits = new Uint32Array(widened.get(name)!.bytes.slice().buffer);
      expect(widened.get(name)!.dtype).toBe('F32');
      expect(bits.every((b, i) => b === (half[i]! << 16) >>> 0)).toBe(true);
    }
  });

  it("each family's projection layout only: Qwen3-Next with split projections, Qwen3.5 with fused ones, are refused naming the tensor", async () => {
    const next = await writeHybrid('next', { family: 'qwen3_next', seed: 27 });
    await editSafetensors(path.join(next.raw, 'model.safetensors'), (ts) => ts.map((t) => (t.name === 'model.layers.0.linear_attn.in_proj_qkvz.weight' ? { ...t, name: 'model.layers.0.linear_attn.in_proj_qkv.weight' } : t)));
    const dense = await writeHybrid('dense', { family: 'qwen3_5', seed: 28 });
    await editSafetensors(path.join(dense.raw, 'model.safetensors'), (ts) => ts.map((t) => (t.name.endsWith('layers.1.linear_attn.in_proj_z.weight') ? { ...t, shape: [t.shape[0]! / 2, t.shape[1]! * 2] } : t)));
    const messages: string[] = [];
    for (const { raw, out } of [next, dense]) {
      try {
        await convertFolder(raw, out);
        throw new Error('expected a refusal');
      } catch (error) {
        if (!isModelImportError(error)) throw error;
        expect(error.code).toBe('CONVERSION_FAILED');
        messages.push(error.message);
      }
    }
    expect(messages[0]).toMatch(/missing tensor model\.layers\.0\.linear_attn\.in_proj_qkvz\.weight \(expected shape \[96, 32\]\)/);
    expect(messages[1]).toMatch(/tensor model\.language_model\.layers\.1\.linear_attn\.in_proj_z\.weight has shape \[16, 64\], expected \[32, 32\]/);
  });

  it('a stray tensor outside the kept parts is still refused', async () => {
    const { raw, out } = await writeHybrid('a', { family: 'qwen3_5_moe', seed: 29 });
    await editSafetensors(path.join(raw, 'model.safetensors'), (ts) => [...ts, { name: 'model.audio_tower.proj.weight', dtype: 'BF16', shape: [2, 2], data: new Uint8Array(8) }]);
    await expect(convertFolder(raw, out)).rejects.toThrow(/unexpected tensor model\.audio_tower\.proj\.weight/);
  });
});
