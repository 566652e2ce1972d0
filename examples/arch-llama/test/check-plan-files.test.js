// @ts-check
/** The authorize tap: plans this adapter cannot convert are refused from the file list, before any download. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isModelImportError } from 'model-import';
import { appliedHooks, stageContext, tinyLlamaConfig } from './tiny-llama.js';

/** @import { ImportPlan, PlannedFile } from 'model-import' */

const { hooks, recognize } = appliedHooks();
const claim = recognize(tinyLlamaConfig());

/**
 * @param {PlannedFile[]} files
 * @param {string} [adapter]
 * @returns {ImportPlan}
 */
function plan(files, adapter) {
  assert.ok(claim);
  return { source: 'test', resolvedBy: 'test', modelId: 'org/tiny-llama', config: tinyLlamaConfig(), files, data: {}, claim: { ...claim, adapter: adapter ?? claim.adapter }, modelName: 'tiny' };
}
const config = /** @type {PlannedFile} */ ({ path: 'config.json', size: 700, role: 'config' });

test('a safetensors plan passes; a pytorch_model.bin-only plan is refused before the download', async () => {
  await hooks.authorize.promise(plan([config, { path: 'model.safetensors', size: 5000, role: 'weights' }]), stageContext());
  await assert.rejects(hooks.authorize.promise(plan([config, { path: 'pytorch_model.bin', size: 5000, role: 'weights' }]), stageContext()), (error) => {
    assert.ok(isModelImportError(error));
    assert.equal(error.code, 'UNSUPPORTED_VARIANT');
    assert.match(error.message, /org\/tiny-llama has pytorch_model\.bin; model-import-arch-llama converts safetensors checkpoints only/);
    return true;
  });
});

test('--max-shard-size below a shard is refused before the download', async () => {
  const files = [config, { path: 'model.safetensors', size: 5000, role: /** @type {const} */ ('weights') }];
  await assert.rejects(hooks.authorize.promise(plan(files), stageContext({ maxShardSize: 4000 })), /model\.safetensors \(5000 bytes\) exceeds --max-shard-size 4000/);
});

test('plans claimed by another adapter are left alone', async () => {
  await hooks.authorize.promise(plan([config, { path: 'pytorch_model.bin', size: 5000, role: 'weights' }], 'model-import/arch-qwen'), stageContext());
});
