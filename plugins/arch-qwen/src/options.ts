/** Options of the archQwen() factory: the decoder kit's (onnx, maxReferenceParameters, chunkBytes). */
export type { DecoderPluginOptions as ArchQwenOptions } from '../../decoder-kit/index.js';
