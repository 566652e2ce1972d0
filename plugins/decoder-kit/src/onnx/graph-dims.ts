/**
 * What the ONNX graph builder reads: the family's DecoderDims (DecoderFamily.readDims, the one typed reading that
 * also recognised and converted the model), with every optional field resolved here, in one place, to what its
 * absence means. The graph never reads config.json itself: a second reading could disagree with the converter's
 * (other defaults), and a config the family accepted could still fail at the ONNX step after the whole download.
 */
import type { RopeSpec } from '../blocks/rope-spec.js';
import type { DecoderDims } from '../family/decoder-dims.js';

export interface GraphDims extends DecoderDims {
  /** Absent in DecoderDims = default RoPE at ropeTheta over the whole head. */
  rope: RopeSpec;
  tensorPrefix: string;
  normZeroCentred: boolean;
  attentionOutputGate: boolean;
  positionsFromMask: boolean;
  embedsSession: boolean;
}

export function graphDims(dims: DecoderDims): GraphDims {
  return {
    ...dims,
    rope: dims.rope ?? { theta: dims.ropeTheta, partialRotaryFactor: 1 },
    tensorPrefix: dims.tensorPrefix ?? 'model',
    normZeroCentred: dims.normZeroCentred ?? false,
    attentionOutputGate: dims.attentionOutputGate ?? false,
    positionsFromMask: dims.positionsFromMask ?? false,
    embedsSession: dims.embedsSession ?? false,
  };
}
