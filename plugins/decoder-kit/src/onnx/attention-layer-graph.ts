/**
 * One full-attention layer of the decoder graph (from the normed hidden state [B·S, H] to the o_proj output):
 * q/k/v projections (biases when the config says so), per-head q/k RMSNorm (zero-centred for Qwen3-Next /
 * Qwen3.5), RoPE over the first rotaryDim dims (partial rotary), the KV cache as Concat, a causal + padding
 * additive mask, Softmax, MatMul, and Qwen3-Next's sigmoid output gate. Explicit ops rather than
 * GroupQueryAttention, which assumes right padding and is wrong for left-padded batches.
 *
 * The output gate follows transformers' Qwen3NextAttention: q_proj's output is viewed as [.., nH, 2·D] and
 * chunked, so for head h rows h·2D … h·2D+D−1 are its query and the next D rows its gate; the attention output
 * [.., nH·D] is multiplied by sigmoid(gate) before o_proj.
 */
import type { GraphDims } from './graph-dims.js';
import { applyRotaryGraph, rotaryParameters, rotaryTablesGraph } from '../blocks/rotary.js';
import { splitGatedQueryGraph } from '../blocks/norm-and-gate.js';
import { DataType } from './graph-builder.js';
import type { GraphWeights } from './graph-weights.js';

/** float32's most negative value: what HF's eager attention adds to masked scores (finite, so no NaN rows). */
const MASKED = -3.4028234663852886e38;

export interface AttentionShapes {
  /** [B, S] of the new tokens (int64, 1-D of length 2). */
  idsShape: string;
  /** Scalars: new tokens S, total length P + S (from attention_mask). */
  seqLen: string;
  totalLen: string;
  attentionMask: string;
  /** [B, S] int64 positions of the new tokens. */
  positionIds: string;
}

/** What every attention layer shares: reshape targets, the additive mask, the rotary tables. */
export interface AttentionContext {
  dims: GraphDims;
  qShape: string;
  kShape: string;
  flatAttn: string;
  maskBias: string;
  cosQ: string;
  sinQ: string;
  cosK: string;
  sinK: string;
  rotaryDim: number;
  scale: string;
}

export function attentionContext(w: GraphWeights, dims: GraphDims, s: AttentionShapes): AttentionContext {
  const g = w.g;
  const { heads: nH, kvHeads: nKV, headDim: D } = dims;
  const pastLen = g.op('Sub', [s.totalLen, s.seqLen], {}, 'past_len');

  // Additive mask [B, 1, 1, S, T]: query at absolute position P+s sees key j iff j <= P+s and mask[b, j] = 1.
  const zero = g.int64s([0], []);
  const one = g.int64s([1], []);
  const keyPos = g.op('Unsqueeze', [g.op('Range', [zero, s.totalLen, one]), g.int64s([0])], {}, 'key_pos'); // [1, T]
  const queryPos = g.op('Unsqueeze', [g.op('Range', [pastLen, s.totalLen, one]), g.int64s([1])], {}, 'query_pos'); // [S, 1]
  const causal = g.op('LessOrEqual', [keyPos, queryPos], {}, 'causal'); // [S, T]
  const notPad = g.op('Unsqueeze', [g.op('Cast', [s.attentionMask], { to: DataType.BOOL }), g.int64s([1, 2, 3])], {}, 'not_pad'); // [B,1,1,1,T]
  const allowed = g.op('And', [causal, notPad], {}, 'allowed');
  const maskBias = g.op('Where', [allowed, g.float32s([0], []), g.float32s([MASKED], [])], {}, 'mask_bias');

  // RoPE tables, computed as transformers does (blocks/rotary.ts: angle = pos * inv_freq in float32,
  // emb = concat(angle, angle); rotate_half folded into a signed sine; partial rotary and the scaled variants).
  // Qwen3.5's MRoPE sections reduce to this for text: its three position rows are equal (decoder-dims.ts).
  const rotary = rotaryParameters(dims.rope, D);
  const { cos, sin } = rotaryTablesGraph(g, s.positionIds, rotary);
  return {
    dims,
    qShape: g.op('Concat', [s.idsShape, g.int64s([nKV, nH / nKV, D])], { axis: 0 }, 'q_shape'),
    kShape: g.op('Concat', [s.idsShape, g.int64s([nKV, D])], { axis: 0 }, 'k_shape'),
    flatAttn: g.int64s([-1, nH * D]),
    maskBias,
    cosK: g.op('Unsqueeze', [cos, g.int64s([1])], {}, 'rope_cos_k'), // [B,1,S,rotaryDim]
    sinK: g.op('Unsqueeze', [sin, g.int64s([1])], {}, 'rope_sin_k'),
    cosQ: g.op('Unsqueeze', [cos, g.int64s([1, 2])], {}, 'rope_cos_q'), // [B,1,1,S,rotaryDim]
    sinQ: g.op('Unsqueeze', [sin, g.int64s([1, 2])], {}, 'rope_sin_q'),
    rotaryDim: rotary.rotaryDim,
    scale: g.float32s([1 / Math.sqrt(D)], []),
  };
}

/**
 * Layer `layer`'s attention over the normed input `a` [B·S, H]; writes present.{layer}.key|value. `p` is the
 * layer's tensor prefix (e.g. model.layers.3).
 */
export function attentionLayerGraph(w: GraphWeights, c: AttentionContext, a: string, p: string, layer: number, past: { key: string; value: string }): string {
  const g = w.g;
  const { dims } = c;
  const { hidden: H, heads: nH, kvHeads: nKV, headDim: D } = dims;
  const bias = (proj: string) => (dims.qkvBias ? `${p}.self_attn.${proj}.bias` : undefined);
  let query: string;
  let gate: string | undefined;
  if (dims.attentionOutputGate) {
    const both = splitGatedQueryGraph(g, w.linear(a, `${p}.self_attn.q_proj`, 2 * nH * D, H, bias('q_proj')), nH, D);
    query = both.query;
    gate = both.gate;
  } else {
    query = w.linear(a, `${p}.self_attn.q_proj`, nH * D, H, bias('q_proj'));
  }
  let q = g.op('Reshape', [query, c.qShape]); // [B,S,nKV,rep,D]
  let k = g.op('Reshape', [w.linear(a, `${p}.self_attn.k_proj`, nKV * D, H, bias('k_proj')), c.kShape]); // [B,S,nKV,D]
  const v = g.op('Reshape', [w.linear(a, `${p}.self_attn.v_proj`, nKV * D, H, bias('v_proj')), c.kShape]);
  if (dims.qkNorm) {
    q = w.rmsNorm(q, `${p}.self_attn.q_norm.weight`, D, dims.rmsNormEps, dims.normZeroCentred);
    k = w.rmsNorm(k, `${p}.self_attn.k_norm.weight`, D, dims.rmsNormEps, dims.normZeroCentred);
  }
  // Query heads grouped by their KV head (head j uses KV head floor(j / rep)): [B, nKV, rep, S, D].
  q = applyRotaryGraph(g, g.op('Transpose', [q], { perm: [0, 2, 3, 1, 4] }), c.cosQ, c.sinQ, D, c.rotaryDim);
  k = applyRotaryGraph(g, g.op('Transpose', [k], { perm: [0, 2, 1, 3] }), c.cosK, c.sinK, D, c.rotaryDim);
  const keys = g.opNamed('Concat', [past.key, k], `present.${layer}.key`, { axis: 2 });
  const values = g.opNamed('Concat', [past.value, g.op('Transpose', [v], { perm: [0, 2, 1, 3] })], `present.${layer}.value`, { axis: 2 });
  const keysT = g.op('Unsqueeze', [g.op('Transpose', [keys], { perm: [0, 1, 3, 2] }), g.int64s([2])]); // [B,nKV,1,D,T]
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, keysT]), c.scale]), c.maskBias]); // [B,nKV,rep,S,T]
  const probs = g.op('Softmax', [scores], { axis: -1 });
  const context = g.op('MatMul', [probs, g.op('Unsqueeze', [values, g.int64s([2])])]); // [B,nKV,rep,S,D]
  let merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 3, 1, 2, 4] }), c.flatAttn]); // [B*S, nH*D]
  if (gate) merged = g.op('Mul', [merged, g.op('Sigmoid', [gate])], {}, `${p}.self_attn.gated`);
  return w.linear(merged, `${p}.self_attn.o_proj`, H, nH * D, dims.oBias ? `${p}.self_attn.o_proj.bias` : undefined);
}
