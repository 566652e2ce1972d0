/**
 * The validator's own math for the two mixers of the hybrid Qwen decoders, one unpadded sequence, no cache,
 * float32 like the graph: written from transformers' modeling_qwen3_next.py / modeling_qwen3_5.py (not from the
 * kit's reference), so the layer-sampled comparison has an independent side.
 *
 * - Gated attention (Qwen3NextAttention): q_proj gives per head a query and a gate (view [seq, nH, 2D], chunk);
 *   zero-centred q_norm / k_norm per head; rotate_half over the first rotary_dim dims; GQA softmax at D^-0.5;
 *   output · sigmoid(gate); o_proj.
 * - Gated DeltaNet (Qwen3NextGatedDeltaNet / Qwen3_5GatedDeltaNet): fused (in_proj_qkvz / in_proj_ba, grouped per
 *   key head) or split projections; causal depthwise conv over [q | k | v] channels then SiLU; beta = sigmoid(b),
 *   g = −exp(A_log)·softplus(a + dt_bias); q, k repeated per value head (repeat_interleave), L2-normalised
 *   (x / sqrt(Σx² + 1e-6)), q scaled by Dk^-0.5; the recurrent delta rule (torch_recurrent_gated_delta_rule: the
 *   chunked form transformers runs for a prompt computes the same function); gated RMSNorm (plain weight, SiLU(z));
 *   out_proj.
 */
import type { ConfigFacts } from '../../../../src/index.js';
import { causalAttention, linear, rmsNorm, rotateHalf } from './layer-math.js';

export type Need = (name: string) => Promise<Float32Array>;

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const silu = (v: number): number => v * sigmoid(v);
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** Qwen3NextAttention on a (normed) input a [seq, H]. */
export async function gatedAttention(f: ConfigFacts, p: string, a: Float32Array, seq: number, need: Need, optional: (name: string, present: boolean) => Promise<Float32Array | undefined>): Promise<Float32Array> {
  const H = f.hidden_size as number;
  const D = f.head_dim as number;
  const nH = f.num_attention_heads as number;
  const nKV = f.num_key_value_heads as number;
  const eps = f.rms_norm_eps as number;
  const bias = f.qkv_bias === true;
  const qg = linear(a, seq, H, await need(`${p}.self_attn.q_proj.weight`), 2 * nH * D, await optional(`${p}.self_attn.q_proj.bias`, bias));
  const q = new Float32Array(seq * nH * D);
  const gate = new Float32Array(seq * nH * D);
  for (let t = 0; t < seq; t++) {
    for (let h = 0; h < nH; h++) {
      const from = (t * nH + h) * 2 * D;
      q.set(qg.subarray(from, from + D), (t * nH + h) * D);
      gate.set(qg.subarray(from + D, from + 2 * D), (t * nH + h) * D);
    }
  }
  const k = linear(a, seq, H, await need(`${p}.self_attn.k_proj.weight`), nKV * D, await optional(`${p}.self_attn.k_proj.bias`, bias));
  const v = linear(a, seq, H, await need(`${p}.self_attn.v_proj.weight`), nKV * D, await optional(`${p}.self_attn.v_proj.bias`, bias));
  const qn = rmsNorm(q, D, await need(`${p}.self_attn.q_norm.weight`), eps, true);
  const kn = rmsNorm(k, D, await need(`${p}.self_attn.k_norm.weight`), eps, true);
  rotateHalf(qn, seq, nH, D, f.rope_inv_freq as readonly number[], f.rope_attention_scaling as number);
  rotateHalf(kn, seq, nKV, D, f.rope_inv_freq as readonly number[], f.rope_attention_scaling as number);
  const attn = causalAttention(qn, kn, v, seq, nH, nKV, D, gate);
  return linear(attn, seq, nH * D, await need(`${p}.self_attn.o_proj.weight`), H, await optional(`${p}.self_attn.o_proj.bias`, f.o_proj_bias === true));
}

/** Gated DeltaNet on a (normed) input a [seq, H]; `has` tells which projection layout the checkpoint stores. */
export async function gatedDeltaNet(f: ConfigFacts, p: string, a: Float32Array, seq: number, need: Need, has: (name: string) => boolean): Promise<Float32Array> {
  const H = f.hidden_size as number;
  const Hk = f.linear_num_key_heads as number;
  const Hv = f.linear_num_value_heads as number;
  const Dk = f.linear_key_head_dim as number;
  const Dv = f.linear_value_head_dim as number;
  const K = f.linear_conv_kernel_dim as number;
  const r = Hv / Hk;
  const keyW = Hk * Dk;
  const valueW = Hv * Dv;
  const conv = 2 * keyW + valueW;
  const L = `${p}.linear_attn`;
  // mixed [seq, conv] in channel order [all q | all k | all v]; z [seq, Hv·Dv]; b, a [seq, Hv].
  let mixed: Float32Array;
  let z: Float32Array;
  let b: Float32Array;
  let gA: Float32Array;
  if (has(`${L}.in_proj_qkvz.weight`)) {
    // modeling_qwen3_next.py fix_query_key_value_ordering: per key head [q Dk | k Dk | v r·Dv | z r·Dv], [b r | a r].
    const group = 2 * Dk + 2 * r * Dv;
    const qkvz = linear(a, seq, H, await need(`${L}.in_proj_qkvz.weight`), Hk * group);
    const ba = linear(a, seq, H, await need(`${L}.in_proj_ba.weight`), 2 * Hv);
    mixed = new Float32Array(seq * conv);
    z = new Float32Array(seq * valueW);
    b = new Float32Array(seq * Hv);
    gA = new Float32Array(seq * Hv);
    for (let t = 0; t < seq; t++) {
      for (let j = 0; j < Hk; j++) {
        const src = t * Hk * group + j * group;
        mixed.set(qkvz.subarray(src, src + Dk), t * conv + j * Dk);
        mixed.set(qkvz.subarray(src + Dk, src + 2 * Dk), t * conv + keyW + j * Dk);
        mixed.set(qkvz.subarray(src + 2 * Dk, src + 2 * Dk + r * Dv), t * conv + 2 * keyW + j * r * Dv);
        z.set(qkvz.subarray(src + 2 * Dk + r * Dv, src + group), t * valueW + j * r * Dv);
        for (let m = 0; m < r; m++) {
          b[t * Hv + j * r + m] = ba[t * 2 * Hv + j * 2 * r + m]!;
          gA[t * Hv + j * r + m] = ba[t * 2 * Hv + j * 2 * r + r + m]!;
        }
      }
    }
  } else {
    mixed = linear(a, seq, H, await need(`${L}.in_proj_qkv.weight`), conv);
    z = linear(a, seq, H, await need(`${L}.in_proj_z.weight`), valueW);
    b = linear(a, seq, H, await need(`${L}.in_proj_b.weight`), Hv);
    gA = linear(a, seq, H, await need(`${L}.in_proj_a.weight`), Hv);
  }
  // Causal depthwise conv (weight [conv, 1, K], no bias), left zero padding, then SiLU.
  const w = await need(`${L}.conv1d.weight`);
  const act = new Float32Array(seq * conv);
  for (let t = 0; t < seq; t++) {
    for (let c = 0; c < conv; c++) {
      let s = 0;
      for (let j = 0; j < K; j++) {
        const src = t - (K - 1) + j;
        if (src >= 0) s += w[c * K + j]! * mixed[src * conv + c]!;
      }
      act[t * conv + c] = silu(s);
    }
  }
  const aLog = await need(`${L}.A_log`);
  const dtBias = await need(`${L}.dt_bias`);
  const normW = await need(`${L}.norm.weight`);
  const eps = f.rms_norm_eps as number;
  const out = new Float32Array(seq * valueW);
  const state = new Float32Array(Hv * Dk * Dv);
  const l2 = (x: Float32Array): Float32Array => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss + 1e-6);
    return x.map((v) => v * inv);
  };
  for (let t = 0; t < seq; t++) {
    const row = act.subarray(t * conv, (t + 1) * conv);
    for (let h = 0; h < Hv; h++) {
      const j = Math.floor(h / r); // repeat_interleave: value head h reads key head h // r
      const q = l2(row.slice(j * Dk, (j + 1) * Dk)).map((v) => v / Math.sqrt(Dk));
      const k = l2(row.slice(keyW + j * Dk, keyW + (j + 1) * Dk));
      const v = row.subarray(2 * keyW + h * Dv, 2 * keyW + (h + 1) * Dv);
      const beta = sigmoid(b[t * Hv + h]!);
      const g = -Math.exp(aLog[h]!) * softplus(gA[t * Hv + h]! + dtBias[h]!);
      const decay = Math.exp(g);
      const S = state.subarray(h * Dk * Dv, (h + 1) * Dk * Dv);
      for (let i = 0; i < S.length; i++) S[i] = S[i]! * decay;
      const o = new Float32Array(Dv);
      for (let d = 0; d < Dv; d++) {
        let mem = 0;
        for (let i = 0; i < Dk; i++) mem += S[i * Dv + d]! * k[i]!;
        const delta = (v[d]! - mem) * beta;
        for (let i = 0; i < Dk; i++) S[i * Dv + d] = S[i * Dv + d]! + k[i]! * delta;
      }
      for (let d = 0; d < Dv; d++) {
        let s = 0;
        for (let i = 0; i < Dk; i++) s += S[i * Dv + d]! * q[i]!;
        o[d] = s;
      }
      // Gated RMSNorm per value head: normalise, plain weight, times SiLU(z).
      let ss = 0;
      for (const x of o) ss += x * x;
      const inv = 1 / Math.sqrt(ss / Dv + eps);
      for (let d = 0; d < Dv; d++) out[t * valueW + h * Dv + d] = o[d]! * inv * normW[d]! * silu(z[t * valueW + h * Dv + d]!);
    }
  }
  return linear(out, seq, valueW, await need(`${L}.out_proj.weight`), H);
}
