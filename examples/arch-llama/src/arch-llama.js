// @ts-check
/**
 * The plugin: the decoder kit's taps over one family. Recognition and conversion are keyed by config.json
 * `architectures[0]` (LlamaForCausalLM) and by model_type "llama" for configs without `architectures`; the
 * converter and the ONNX builder are imported on first use.
 */
import { defineDecoderPlugin } from 'model-import/decoder-kit';
import { NAME } from './names.js';
import { LlamaFamily } from './llama-family.js';

/** @import { ModelImportPlugin } from 'model-import' */
/** @import { DecoderPluginOptions } from 'model-import/decoder-kit' */

/**
 * Options (a config passes them as `['model-import-arch-llama', { onnx: false }]`): the kit's, `onnx` (default
 * true: build onnx/model.onnx and offer the forward check), `maxReferenceParameters`, `chunkBytes`.
 * @param {DecoderPluginOptions} [options]
 * @returns {ModelImportPlugin}
 */
export function archLlama(options = {}) {
  return defineDecoderPlugin({ name: NAME, families: [new LlamaFamily()], options });
}
