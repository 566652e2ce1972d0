/**
 * Builds onnx/model.onnx (and, for folders transformers.js loads as image-text-to-text, embed_tokens.onnx +
 * decoder_model_merged.onnx) over the safetensors just written: the builder (src/onnx) hard-links the weight files
 * into onnx/ and points every initializer at its byte range, so the weights exist once on disk. Loaded on
 * demand: recognition and plain conversions never load onnx-proto.
 */
import type { ComponentReport } from '../../../../src/index.js';
import type { DecoderDims } from '../family/decoder-dims.js';

/**
 * `dims` is the family's reading the weights were converted with (the published config.json differs from the
 * fetched one only in its dtype and in keys a family adds, such as layer_types, none of which change the dims).
 */
export async function buildOnnx(outDir: string, weightFiles: readonly string[], dims: DecoderDims): Promise<ComponentReport> {
  const { buildDecoderGraph } = await import('../onnx/index.js');
  const shards = weightFiles.filter((f) => f.endsWith('.safetensors'));
  const result = await buildDecoderGraph({ modelDir: outDir, dims, weightFiles: shards });
  return {
    component: 'onnx',
    status: result.warnings.length > 0 ? 'warning' : 'ok',
    detail: `${[result.graphPath, ...result.extraGraphs].join(', ')} (opset ${result.opset}), weights read in place from ${shards.length} hard-linked safetensors file(s)`,
    warnings: result.warnings,
  };
}
