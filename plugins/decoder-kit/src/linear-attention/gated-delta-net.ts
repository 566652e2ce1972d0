/**
 * Reference Gated DeltaNet layer (the `linear_attn` of a Qwen3-Next / Qwen3.5 decoder layer), composed from the
 * blocks in this folder. Two projection layouts (transformers qwen3_next/modeling_qwen3_next.py and
 * qwen3_5/modular_qwen3_5.py):
 * - 'fused' (Qwen3-Next): in_proj_qkvz and in_proj_ba, rows grouped per key head — for each key head j:
 *   q_j (Dk), k_j (Dk), v_j (r·Dv), z_j (r·Dv); and b_j (r), a_j (r). `fix_query_key_value_ordering` undoes it.
 * - 'split' (Qwen3.5): in_proj_qkv (all q, all k, all v), in_proj_z, in_proj_b, in_proj_a.
 * Either way value head j·r + m belongs to key head j, and the conv channels are [all q | all k | all v].
 */
import { linear } from '../reference/tensor-math.js';
import { causalConv1d } from './causal-conv.js';
import { deltaGates } from './delta-gates.js';
import { chunkedDeltaRule, recurrentDeltaRule } from './delta-rule.js';
import { gatedRmsNorm } from './gated-rms-norm.js';
import { prepareQueryKey } from './query-key-norm.js';

export interface LinearAttentionDims {
  hidden: number;
  keyHeads: number;
  valueHeads: number;
  keyDim: number;
  valueDim: number;
  /** linear_conv_kernel_dim */
  kernel: number;
  /** rms_norm_eps, used by the gated norm */
  eps: number;
}

/** The layer's tensors as float32, named as in the checkpoint without the `linear_attn.` prefix. */
export type GatedDeltaNetWeights = {
  conv1d: Float32Array;
  dtBias: Float32Array;
  aLog: Float32Array;
  norm: Float32Array;
  outProj: Float32Array;
} & ({ layout: 'fused'; inProjQkvz: Float32Array; inProjBa: Float32Array } | { layout: 'split'; inProjQkv: Float32Array; inProjZ: Float32Array; inProjB: Float32Array; inProjA: Float32Array });

export interface LinearAttentionState {
  /** [B, conv_dim, K] */
  conv: Float32Array;
  /** [B, Hv, Dk, Dv] */
  recurrent: Float32Array;
}

export function linearAttentionSizes(d: LinearAttentionDims) {
  const keyWidth = d.keyHeads * d.keyDim;
  const valueWidth = d.valueHeads * d.valueDim;
  return { keyWidth, valueWidth, convChannels: 2 * keyWidth + valueWidth, repeats: d.valueHeads / d.keyHeads };
}

interface Projected {
  /** [N, conv_dim] in conv channel order. */
  mixed: Float32Array;
  /** [N, Hv·Dv] */
  z: Float32Array;
  /** [N, Hv] */
  b: Float32Array;
  a: Float32Array;
}

function project(x: Float32Array, rows: number, d: LinearAttentionDims, w: GatedDeltaNetWeights): Projected {
  const { keyWidth, valueWidth, convChannels, repeats: r } = linearAttentionSizes(d);
  if (w.layout === 'split') {
    return {
      mixed: linear(x, rows, d.hidden, w.inProjQkv, convChannels),
      z: linear(x, rows, d.hidden, w.inProjZ, valueWidth),
      b: linear(x, rows, d.hidden, w.inProjB, d.valueHeads),
      a: linear(x, rows, d.hidden, w.inProjA, d.valueHeads),
    };
  }
  const groupWidth = 2 * d.keyDim + 2 * r * d.valueDim;
  const qkvz = linear(x, rows, d.hidden, w.inProjQkvz, d.keyHeads * groupWidth);
  const ba = linear(x, rows, d.hidden, w.inProjBa, 2 * d.valueHeads);
  const out: Projected = { mixed: new Float32Array(rows * convChannels), z: new Float32Array(rows * valueWidth), b: new Float32Array(rows * d.valueHeads), a: new Float32Array(rows * d.valueHeads) };
  const vGroup = r * d.valueDim;
  for (let n = 0; n < rows; n++) {
    for (let j = 0; j < d.keyHeads; j++) {
      const src = n * d.keyHeads * groupWidth + j * groupWidth;
      const dst = n * convChannels;
      out.mixed.set(qkvz.subarray(src, src + d.keyDim), dst + j * d.keyDim);
      out.mixed.set(qkvz.subarray(src + d.keyDim, src + 2 * d.keyDim), dst + keyWidth + j * d.keyDim);
      out.mixed.set(qkvz.subarray(src + 2 * d.keyDim, src + 2 * d.keyDim + vGroup), dst + 2 * keyWidth + j * vGroup);
      out.z.set(qkvz.subarray(src + 2 * d.keyDim + vGroup, src + groupWidth), n * valueWidth + j * vGroup);
      const baSrc = n * 2 * d.valueHeads + j * 2 * r;
      out.b.set(ba.subarray(baSrc, baSrc + r), n * d.valueHeads + j * r);
      out.a.set(ba.subarray(baSrc + r, baSrc + 2 * r), n * d.valueHeads + j * r);
    }
  }
  return out;
}

/**
 * One call of the layer over hidden [B, T, H] (already input_layernorm'ed). `mask` [B, T] (1 keep, 0 pad) zeroes
 * padded inputs first, as transformers' apply_mask_to_padding_states does for left-padded batches. `state` is the
 * cache from the previous call; the chunked rule runs when T > 1, the recurrent one for single tokens, as in
 * transformers (they agree; see delta-rule.test.ts).
 */
export function gatedDeltaNet(hidden: Float32Array, batch: number, seq: number, d: LinearAttentionDims, w: GatedDeltaNetWeights, state?: LinearAttentionState, mask?: ArrayLike<number>): { output: Float32Array; state: LinearAttentionState } {
  const rows = batch * seq;
  const { keyWidth, valueWidth, convChannels, repeats } = linearAttentionSizes(d);
  const x = mask ? hidden.map((v, i) => v * mask[Math.floor(i / d.hidden)]) : hidden;
  const p = project(x, rows, d, w);
  const conv = causalConv1d(p.mixed, batch, seq, convChannels, w.conv1d, d.kernel, state?.conv);
  const q = new Float32Array(rows * keyWidth);
  const k = new Float32Array(rows * keyWidth);
  const v = new Float32Array(rows * valueWidth);
  for (let n = 0; n < rows; n++) {
    const o = n * convChannels;
    q.set(conv.output.subarray(o, o + keyWidth), n * keyWidth);
    k.set(conv.output.subarray(o + keyWidth, o + 2 * keyWidth), n * keyWidth);
    v.set(conv.output.subarray(o + 2 * keyWidth, o + convChannels), n * valueWidth);
  }
  const gates = deltaGates(p.a, p.b, w.aLog, w.dtBias);
  const inputs = {
    batch, seq, heads: d.valueHeads, keyDim: d.keyDim, valueDim: d.valueDim,
    q: prepareQueryKey(q, rows, d.keyHeads, d.keyDim, repeats, true),
    k: prepareQueryKey(k, rows, d.keyHeads, d.keyDim, repeats, false),
    v, g: gates.g, beta: gates.beta,
  };
  const rule = seq > 1 ? chunkedDeltaRule(inputs, state?.recurrent) : recurrentDeltaRule(inputs, state?.recurrent);
  const normed = gatedRmsNorm(rule.output, p.z, w.norm, d.eps);
  return { output: linear(normed, rows, valueWidth, w.outProj, d.hidden), state: { conv: conv.state, recurrent: rule.state } };
}
