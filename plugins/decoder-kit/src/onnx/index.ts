/**
 * The ONNX decoder graph for Qwen2/Qwen3 (and MoE), Llama and Qwen3-Next / Qwen3.5 checkpoints, with weights read
 * in place from the safetensors.
 */
export {
  buildDecoderGraph,
  buildDecoderGraphForFolder,
  encodeDecoderGraph,
  encodeDecoderGraphs,
  encodeEmbedGraph,
  GRAPH_PATH,
  OPSET,
  type BuildDecoderGraphOptions,
  type BuildDecoderGraphResult,
} from './build-decoder-graph.js';
export { defaultSessionOptions } from './session-options.js';
export { linkWeightFiles } from './link-weight-files.js';
