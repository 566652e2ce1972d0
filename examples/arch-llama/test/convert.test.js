// @ts-check
/**
 * Conversion against real files in temp folders: the checkpoint checked tensor by tensor against config.json,
 * the weights hard-linked (same inode, no byte copied) or rewritten when --dtype / --max-shard-size ask, the side
 * files copied, onnx/model.onnx built, one component report each. All of it is the decoder kit's.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { encodeSafetensors, isModelImportError } from 'model-import';
import { appliedHooks, countElements, stageContext, tempFolder, tinyLlamaConfig, tinyLlamaTensors, writeTinyRepo } from './tiny-llama.js';

/** @import { ModelConfig } from 'model-import' */
/** @import { TinySizes } from './tiny-llama.js' */

/**
 * Recognises then converts, as the kernel does.
 * @param {import('node:test').TestContext} t
 * @param {{ sizes?: TinySizes, config?: ModelConfig, tensors?: ReturnType<typeof tinyLlamaTensors>, shards?: number, sideFiles?: boolean, options?: Parameters<typeof stageContext>[0] }} [o]
 */
async function convertRepo(t, o = {}) {
  const root = await tempFolder(t);
  const rawDir = path.join(root, 'raw');
  const outDir = path.join(root, 'out');
  const config = o.config ?? tinyLlamaConfig(o.sizes);
  await writeTinyRepo(rawDir, { config, tensors: o.tensors ?? tinyLlamaTensors(o.sizes), shards: o.shards, sideFiles: o.sideFiles });
  const { recognize, convert } = appliedHooks();
  const context = stageContext(o.options);
  const claim = recognize(config, context);
  assert.ok(claim);
  const result = await convert(claim, config, rawDir, outDir, context);
  return { rawDir, outDir, result, context };
}

/**
 * @param {Promise<unknown>} promise
 * @param {string} code
 * @param {RegExp} message
 */
async function assertRejected(promise, code, message) {
  await assert.rejects(promise, (error) => {
    assert.ok(isModelImportError(error), `not a ModelImportError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

test('a tied tiny Llama: weights linked, parameters from the headers, side files copied, graph built, components reported', async (t) => {
  const { rawDir, outDir, result, context } = await convertRepo(t);
  assert.ok(result);
  assert.equal(result.parameterCount, countElements(tinyLlamaTensors()));
  assert.equal(result.dtype, 'bf16');
  assert.equal((await stat(path.join(outDir, 'model.safetensors'))).ino, (await stat(path.join(rawDir, 'model.safetensors'))).ino);
  assert.deepEqual((await readdir(outDir)).sort(), ['LICENSE', 'config.json', 'generation_config.json', 'model.safetensors', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual((await readdir(path.join(outDir, 'onnx'))).sort(), ['model.onnx', 'model.safetensors']);
  assert.equal(await readFile(path.join(outDir, 'config.json'), 'utf8'), await readFile(path.join(rawDir, 'config.json'), 'utf8'));
  assert.deepEqual(result.components.map((c) => [c.component, c.status]), [
    ['weights', 'ok'], ['config', 'ok'], ['generation-config', 'ok'], ['tokenizer', 'ok'], ['license', 'ok'], ['onnx', 'ok'],
  ]);
  assert.match(result.components[0].detail, /^20 tensors, bf16, 1 file\(s\) linked \(no copy\)$/);
  assert.deepEqual(context.components, result.components, 'every component goes through context.reporter.component too');
  assert.deepEqual(result.details, { weights: 'linked', files: ['model.safetensors'], tensors: 20, sourceFormat: 'safetensors', bytesCopied: 0 });
});

test('untied, GQA, explicit head_dim, two shards: index and both shards linked, lm_head counted', async (t) => {
  const sizes = { heads: 8, kvHeads: 2, headDim: 32, tied: false };
  const { rawDir, outDir, result } = await convertRepo(t, { sizes, shards: 2 });
  assert.ok(result);
  assert.equal(result.parameterCount, countElements(tinyLlamaTensors(sizes)));
  assert.deepEqual(result.details?.files, ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  for (const file of /** @type {string[]} */ (result.details?.files)) {
    assert.equal((await stat(path.join(outDir, file))).ino, (await stat(path.join(rawDir, file))).ino, file);
  }
});

test('a tied checkpoint that also stores an equal lm_head: accepted, the copy not counted, the graph told', async (t) => {
  const vocab = 96;
  const tensors = [...tinyLlamaTensors(), { name: 'lm_head.weight', dtype: 'BF16', shape: [vocab, 64], data: new Uint8Array(vocab * 64 * 2) }];
  const { result } = await convertRepo(t, { tensors });
  assert.ok(result);
  assert.equal(result.parameterCount, countElements(tinyLlamaTensors()));
  assert.match(result.components[0].detail, /tied lm_head copy equals embed_tokens \(ignored\)/);
  assert.match(result.components[5].warnings.join('\n'), /the checkpoint also holds lm_head.weight/);
});

test('rotary inv_freq buffers are explained extras; an unknown tensor is not', async (t) => {
  const buffer = { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [8], data: new Uint8Array(32) };
  const { result } = await convertRepo(t, { tensors: [...tinyLlamaTensors(), buffer] });
  assert.match(result?.components[0].warnings.join('\n') ?? '', /1 known buffer tensor\(s\) carry no parameters/);
  const stray = { name: 'model.layers.0.self_attn.q_proj.bias', dtype: 'BF16', shape: [64], data: new Uint8Array(128) };
  await assertRejected(convertRepo(t, { tensors: [...tinyLlamaTensors(), stray] }), 'CONVERSION_FAILED',
    /unexpected tensor model\.layers\.0\.self_attn\.q_proj\.bias \(BF16 \[64\]\): not part of LlamaForCausalLM/);
});

test('a checkpoint that disagrees with config.json is refused, naming the tensor', async (t) => {
  const missing = tinyLlamaTensors().filter((x) => x.name !== 'model.layers.1.mlp.up_proj.weight');
  await assertRejected(convertRepo(t, { tensors: missing }), 'CONVERSION_FAILED', /missing tensor model\.layers\.1\.mlp\.up_proj\.weight \(expected shape \[128, 64\]\)/);
  // An untied config needs lm_head.
  await assertRejected(convertRepo(t, { config: tinyLlamaConfig({ tied: false }), tensors: tinyLlamaTensors() }), 'CONVERSION_FAILED',
    /missing tensor lm_head\.weight .*tie_word_embeddings false/);
  // MHA weights under a GQA config: k_proj is [64, 64] where the config says [32, 64].
  await assertRejected(convertRepo(t, { config: tinyLlamaConfig(), tensors: tinyLlamaTensors({ kvHeads: 4 }) }), 'CONVERSION_FAILED',
    /model\.layers\.0\.self_attn\.k_proj\.weight/);
  const quantized = tinyLlamaTensors().map((x) => (x.name.endsWith('q_proj.weight') ? { ...x, dtype: 'I8', data: new Uint8Array(x.data.length / 2) } : x));
  await assertRejected(convertRepo(t, { tensors: quantized }), 'CONVERSION_FAILED', /q_proj\.weight/);
});

test('no weights, or a corrupt file, is refused', async (t) => {
  const root = await tempFolder(t);
  const { recognize, convert } = appliedHooks();
  const config = tinyLlamaConfig();
  const claim = recognize(config);
  assert.ok(claim);
  await writeFile(path.join(root, 'config.json'), JSON.stringify(config));
  await assertRejected(convert(claim, config, root, path.join(root, 'out0'), stageContext()), 'CONVERSION_FAILED', /no weights found/);
  await writeFile(path.join(root, 'pytorch_model.bin'), 'not a pickle');
  await assert.rejects(convert(claim, config, root, path.join(root, 'out1'), stageContext()), (error) => isModelImportError(error) && /pytorch_model\.bin/.test(error.message));
  const bytes = encodeSafetensors(tinyLlamaTensors(), { format: 'pt' });
  await writeFile(path.join(root, 'model.safetensors'), bytes.subarray(0, bytes.length - 10));
  await assertRejected(convert(claim, config, root, path.join(root, 'out2'), stageContext()), 'BAD_INPUT', /model\.safetensors/);
});

test('--dtype and --max-shard-size rewrite the weights (the kit converts), linking when they already hold', async (t) => {
  const same = await convertRepo(t, { options: { dtype: 'bf16', maxShardSize: 1 << 30 } });
  assert.equal(same.result?.details?.weights, 'linked');
  const widened = await convertRepo(t, { options: { dtype: 'f32' } });
  assert.equal(widened.result?.dtype, 'f32');
  assert.equal(widened.result?.parameterCount, countElements(tinyLlamaTensors()));
  const resharded = await convertRepo(t, { options: { maxShardSize: 40_000 } });
  assert.ok((/** @type {string[]} */ (resharded.result?.details?.files)).length > 2);
});

test('missing side files are reported, not fatal', async (t) => {
  const { result } = await convertRepo(t, { sideFiles: false });
  assert.deepEqual(result?.components.map((c) => [c.component, c.status]), [
    ['weights', 'ok'], ['config', 'ok'], ['generation-config', 'missing'], ['tokenizer', 'missing'], ['license', 'missing'], ['onnx', 'ok'],
  ]);
  assert.match(result?.components[3].warnings[0] ?? '', /tokenizer/);
});
