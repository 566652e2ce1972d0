import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHooks, type ModelConfig } from '../../../src/index.js';
import { tempDir } from '../../../test/support/temp.js';
import { archQwen } from '../index.js';
import { convertFolder, writeTiny } from '../test/harness.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-onnx-'));
});
afterEach(async () => cleanup());

/** One forward pass of onnx/model.onnx with an empty cache, opened with the claim's session options. */
async function runGraph(modelDir: string, sessionOptions: Record<string, unknown>, ids: number[]): Promise<Float32Array> {
  const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8')) as ModelConfig;
  const session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'), sessionOptions as ort.InferenceSession.SessionOptions);
  try {
    const n = ids.length;
    const kv = Number(config.num_key_value_heads);
    const d = Number(config.head_dim ?? Number(config.hidden_size) / Number(config.num_attention_heads));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, n]),
    };
    for (let i = 0; i < Number(config.num_hidden_layers); i++) {
      for (const part of ['key', 'value']) feeds[`past_key_values.${i}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, d]);
    }
    const out = await session.run(feeds);
    return Float32Array.from(out.logits.data as Float32Array); // copied: the output may live in memory release() frees
  } finally {
    await session.release();
  }
}

describe('convert: onnx/model.onnx over the written weights', () => {
  for (const [family, options] of [
    ['qwen2', { dtype: undefined }],
    ['qwen3', { dtype: 'f32' as const }],
    ['qwen3_moe', { dtype: undefined }],
  ] as const) {
    it(`${family}${options.dtype ? ` -> ${options.dtype}` : ''}: graph written, weights hard-linked into onnx/, logits match the claim's reference`, async () => {
      const raw = await writeTiny(path.join(root, 'raw'), { family, seed: 21, shards: family === 'qwen2' ? 2 : 1 });
      const out = path.join(root, 'out');
      const { result } = await convertFolder(raw, out, options, {});
      const onnx = result.components.find((c) => c.component === 'onnx')!;
      expect(onnx.status).not.toBe('failed');
      expect(onnx.detail).toMatch(/onnx\/model.onnx/);
      const files = (result.details!.files as string[]).filter((f) => f.endsWith('.safetensors'));
      for (const file of files) expect((await stat(path.join(out, 'onnx', file))).ino).toBe((await stat(path.join(out, file))).ino);
      if (!options.dtype) expect((await stat(path.join(out, files[0]))).ino).toBe((await stat(path.join(raw, files[0]))).ino);

      const hooks = createHooks();
      archQwen().apply({ hooks });
      const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as ModelConfig;
      const claim = hooks.recognize.for(config.architectures![0]).call(config, undefined)!;
      const validation = claim.validation!;
      expect(validation.onnxGraph).toBe('onnx/model.onnx');
      const ids = [1, 5, 9, 2, 7];
      const logits = await runGraph(out, validation.sessionOptions!, ids);
      const reference = await validation.referenceForward!(out, { inputIds: [ids] });
      expect(reference.logits.length).toBe(logits.length);
      let max = 0;
      for (let i = 0; i < logits.length; i++) max = Math.max(max, Math.abs(logits[i] - reference.logits[i]));
      expect(max).toBeLessThan(validation.tolerance);
    });
  }
});
