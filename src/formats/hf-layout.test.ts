import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../kernel/errors.js';
import { selectFiles, type ListedFile } from './hf-layout.js';

const f = (path: string, lfs = false): ListedFile => ({ path, size: 10, ...(lfs ? { sha256: 'a'.repeat(64) } : { gitOid: 'b'.repeat(40) }) });

describe('selectFiles', () => {
  it('configs, tokenizer, license files at the root and one weights format; never the extras', () => {
    const listing = [
      'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt',
      'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja', 'LICENSE.txt', 'NOTICE', 'licence.md', 'README.md',
      'model.safetensors', 'pytorch_model.bin', 'onnx/model.onnx', 'onnx/config.json', 'model.gguf', 'original/consolidated.00.pth',
      'consolidated.safetensors', 'flax_model.msgpack', 'tf_model.h5', 'model.fp16.safetensors', 'assets/img.png', 'sub/LICENSE',
    ].map((p) => f(p, /safetensors|bin|onnx|gguf|pth|msgpack|h5/.test(p)));
    const { files, licenseFile, format } = selectFiles(listing, 'o/r');
    expect(format).toBe('safetensors');
    expect(files.map((x) => x.path).sort()).toEqual(
      ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json',
        'added_tokens.json', 'chat_template.jinja', 'LICENSE.txt', 'NOTICE', 'licence.md', 'model.safetensors'].sort(),
    );
    expect(licenseFile).toBe('LICENSE.txt');
    const weights = files.find((x) => x.path === 'model.safetensors')!;
    expect(weights).toMatchObject({ role: 'weights', sha256: 'a'.repeat(64) });
    expect(weights.gitOid).toBeUndefined();
    expect(files.find((x) => x.path === 'config.json')).toMatchObject({ role: 'config', gitOid: 'b'.repeat(40) });
    expect(files.at(-1)!.path).toBe('model.safetensors'); // weights last: small files land first
  });

  it('an index without a complete shard set falls back to the single file, then to .bin', () => {
    const incomplete = ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'pytorch_model.bin'].map((p) => f(p));
    expect(selectFiles(incomplete, 'o/r').files.filter((x) => x.role.startsWith('weights')).map((x) => x.path)).toEqual(['pytorch_model.bin']);
    const shardedBin = ['config.json', 'pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'].map((p) => f(p));
    expect(selectFiles(shardedBin, 'o/r').files.filter((x) => x.role.startsWith('weights')).map((x) => `${x.path}:${x.role}`)).toEqual([
      'pytorch_model.bin.index.json:weights-index',
      'pytorch_model-00001-of-00002.bin:weights',
      'pytorch_model-00002-of-00002.bin:weights',
    ]);
  });

  it('no transformers weights: UNSUPPORTED_VARIANT', () => {
    try {
      selectFiles([f('config.json'), f('onnx/model.onnx', true)], 'o/r');
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isModelImportError(e) && e.code).toBe('UNSUPPORTED_VARIANT');
      expect((e as Error & { hint: string }).hint).toContain('onnx/model.onnx');
    }
  });
});
