/**
 * A Gated DeltaNet layer of the reference forward pass for one row: reads the layer's tensors (Qwen3-Next's fused
 * in_proj_qkvz / in_proj_ba when the checkpoint has them, else Qwen3.5's in_proj_qkv / z / b / a) and runs the
 * reference layer (linear-attention/gated-delta-net.ts: chunked rule for T > 1, recurrent for a single token, as
 * transformers does). Padded tokens (keep = 0) are zeroed before the projections, so a left-padded prefix leaves
 * both states at zero.
 */
import { gatedDeltaNet, linearAttentionSizes, type GatedDeltaNetWeights, type LinearAttentionDims, type LinearAttentionState } from '../linear-attention/gated-delta-net.js';

export interface LayerTensors {
  /** A tensor of the layer by its name under linear_attn., as float32. */
  get(name: string, shape: number[]): Promise<Float32Array>;
  has(name: string): boolean;
}

export async function linearAttentionLayer(
  d: LinearAttentionDims,
  normed: Float32Array,
  seq: number,
  keep: readonly number[],
  tensors: LayerTensors,
  state?: LinearAttentionState,
): Promise<{ output: Float32Array; state: LinearAttentionState }> {
  const { keyWidth, valueWidth, convChannels } = linearAttentionSizes(d);
  const H = d.hidden;
  const common = {
    conv1d: await tensors.get('conv1d.weight', [convChannels, 1, d.kernel]),
    dtBias: await tensors.get('dt_bias', [d.valueHeads]),
    aLog: await tensors.get('A_log', [d.valueHeads]),
    norm: await tensors.get('norm.weight', [d.valueDim]),
    outProj: await tensors.get('out_proj.weight', [H, valueWidth]),
  };
  const weights: GatedDeltaNetWeights = tensors.has('in_proj_qkvz.weight')
    ? {
        layout: 'fused', ...common,
        inProjQkvz: await tensors.get('in_proj_qkvz.weight', [2 * keyWidth + 2 * valueWidth, H]),
        inProjBa: await tensors.get('in_proj_ba.weight', [2 * d.valueHeads, H]),
      }
    : {
        layout: 'split', ...common,
        inProjQkv: await tensors.get('in_proj_qkv.weight', [convChannels, H]),
        inProjZ: await tensors.get('in_proj_z.weight', [valueWidth, H]),
        inProjB: await tensors.get('in_proj_b.weight', [d.valueHeads, H]),
        inProjA: await tensors.get('in_proj_a.weight', [d.valueHeads, H]),
      };
  return gatedDeltaNet(normed, 1, seq, d, weights, state, keep);
}
