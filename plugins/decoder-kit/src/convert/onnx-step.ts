/**
 * Builds onnx/model.onnx (and, for folders transformers.js loads as image-text-to-text, embed_tokens.onnx +
 * decoder_model_merged.onnx) over the safetensors just written: the builder (src/onnx) hard-links the weight files
 * into onnx/ and points every initializer at its byte range, so the weights exist once on disk. Loaded on
 * demand: recognition and plain conversions never load onnx-proto.
 */
import { readFile } from 'node:fs/promises';
import { safeJoin, type ComponentReport, type ModelConfig } from '../../../../src/index.js';

export async function buildOnnx(outDir: string, weightFiles: readonly string[]): Promise<ComponentReport> {
  const { buildDecoderGraph } = await import('../onnx/index.js');
  // The config as written (its dtype may have changed), not the one fetched.
  const config = JSON.parse(await readFile(safeJoin(outDir, 'config.json'), 'utf8')) as ModelConfig;
  const shards = weightFiles.filter((f) => f.endsWith('.safetensors'));
  const result = await buildDecoderGraph({ modelDir: outDir, config, weightFiles: shards });
  return {
    component: 'onnx',
    status: result.warnings.length > 0 ? 'warning' : 'ok',
    detail: `${[result.graphPath, ...result.extraGraphs].join(', ')} (opset ${result.opset}), weights read in place from ${shards.length} hard-linked safetensors file(s)`,
    warnings: result.warnings,
  };
}
