/**
 * ONNX for the Gated DeltaNet conv (reference: causal-conv.ts). The cache input past_conv.i is transformers'
 * conv state, [batch, C, K] with numeric C and K, so transformers.js can create the first (all-zero) one from the
 * session metadata; zeros there equal the left zero-padding of a fresh sequence.
 *   concat(past [B,C,K], xᵀ [B,C,T]) -> depthwise Conv (no pads) -> drop the first output -> SiLU -> [B,T,C]
 *   present = the last K columns of the concat
 */
import type { GraphBuilder } from '../onnx/graph-builder.js';

/** Slice end meaning "to the end" (ORT clamps; 2^53 - 1 survives the int64 constant round trip exactly). */
export const TO_END = Number.MAX_SAFE_INTEGER;

export interface CausalConvGraphInput {
  /** [B, T, C] float */
  input: string;
  /** [B, C, K] float */
  past: string;
  /** conv1d.weight [C, 1, K] float */
  weight: string;
  channels: number;
  kernel: number;
  /** Name for the present state (a graph output name such as present_conv.0). */
  presentName?: string;
}

export function causalConvGraph(g: GraphBuilder, x: CausalConvGraphInput): { output: string; present: string } {
  const channelsFirst = g.op('Transpose', [x.input], { perm: [0, 2, 1] }, 'conv_in');
  const window = g.op('Concat', [x.past, channelsFirst], { axis: 2 }, 'conv_window');
  const conv = g.op('Conv', [window, x.weight], { group: x.channels, kernel_shape: [x.kernel], pads: [0, 0], strides: [1], dilations: [1] }, 'conv');
  const tail = g.op('Slice', [conv, g.int64s([1]), g.int64s([TO_END]), g.int64s([2])], {}, 'conv_tail');
  const activated = g.op('Mul', [tail, g.op('Sigmoid', [tail])], {}, 'conv_silu');
  const output = g.op('Transpose', [activated], { perm: [0, 2, 1] }, 'conv_out');
  const sliceInputs = [window, g.int64s([-x.kernel]), g.int64s([TO_END]), g.int64s([2])];
  const present = x.presentName ? g.opNamed('Slice', sliceInputs, x.presentName) : g.op('Slice', sliceInputs, {}, 'present_conv');
  return { output, present };
}
