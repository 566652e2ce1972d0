/**
 * Reference causal depthwise conv1d with state, the first step of a Gated DeltaNet layer (transformers
 * qwen3_next/modeling_qwen3_next.py: `Qwen3NextGatedDeltaNet.conv1d`, `torch_causal_conv1d_update`).
 *
 * The state is what transformers' cache holds: the last K input columns per channel, oldest first
 * ([B, C, K]). All zeros means "no history", which is the same as the left zero-padding of the first call.
 * Output t sees the K inputs ending at x_t; SiLU follows (the layer's hidden_act, silu in every Qwen checkpoint).
 */
import { silu } from '../reference/tensor-math.js';

export interface ConvResult {
  /** [B, T, C] after SiLU. */
  output: Float32Array;
  /** [B, C, K]: the last K inputs, oldest first, ready for the next call. */
  state: Float32Array;
}

/**
 * @param x [B, T, C] channels in conv1d order (all q, all k, all v)
 * @param weight conv1d.weight [C, 1, K] (the middle axis of 1 is the depthwise group and changes nothing in memory)
 * @param state [B, C, K] or undefined for a fresh sequence
 */
export function causalConv1d(x: Float32Array, batch: number, seq: number, channels: number, weight: Float32Array, kernel: number, state?: Float32Array): ConvResult {
  const output = new Float32Array(batch * seq * channels);
  const next = new Float32Array(batch * channels * kernel);
  const window = kernel + seq;
  const column = new Float64Array(window);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      // The channel's history followed by its new inputs.
      for (let j = 0; j < kernel; j++) column[j] = state ? state[(b * channels + c) * kernel + j] : 0;
      for (let t = 0; t < seq; t++) column[kernel + t] = x[(b * seq + t) * channels + c];
      for (let t = 0; t < seq; t++) {
        let sum = 0;
        for (let j = 0; j < kernel; j++) sum += weight[c * kernel + j] * column[t + 1 + j];
        output[(b * seq + t) * channels + c] = silu(sum);
      }
      for (let j = 0; j < kernel; j++) next[(b * channels + c) * kernel + j] = column[window - kernel + j];
    }
  }
  return { output, state: next };
}
