/** Options every kit-based decoder plugin accepts (archQwen(options), defineDecoderPlugin({ options })). */
export interface DecoderPluginOptions {
  /** Build onnx/model.onnx after the weights (default true). Without it the claim offers no validation graph. */
  onnx?: boolean;
  /** Largest model the reference forward is offered for (default 50 M parameters). */
  maxReferenceParameters?: number;
  /** Bytes per chunk when streaming tensors (default 8 MiB); bounds conversion memory. */
  chunkBytes?: number;
}
