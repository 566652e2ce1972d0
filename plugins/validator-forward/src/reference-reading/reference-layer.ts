/**
 * One decoder layer and the head, computed from the validator's own config facts and transformers' module names
 * (modeling_qwen2 / qwen3 / qwen2_moe / qwen3_moe / llama.py), in float32, for one unpadded sequence without a
 * cache. Written apart from any adapter's reference so a shared mistake cannot hide: this is what the graph's
 * layer slices are compared with (check-layer-sample.ts).
 */
import type { ConfigFacts } from '../../../../src/index.js';
import { gatedAttention, gatedDeltaNet } from './reference-hybrid-layer.js';
import { causalAttention, linear, rmsNorm as normRows, rotateHalf } from './layer-math.js';

/** A tensor the validator's reading needs is not in the checkpoint (a finding, not a crash). */
export class MissingTensorError extends Error {}

export type WeightGetter = (name: string) => Promise<Float32Array | undefined>;

const silu = (v: number): number => v / (1 + Math.exp(-v));

export class ReferenceLayers {
  constructor(private readonly f: ConfigFacts, private readonly weight: WeightGetter) {}

  private async need(name: string): Promise<Float32Array> {
    const w = await this.weight(name);
    if (!w) throw new MissingTensorError(`the checkpoint has no ${name}`);
    return w;
  }

  private async optional(name: string, present: boolean): Promise<Float32Array | undefined> {
    return present ? this.need(name) : undefined;
  }

  /** Layer `layer` applied to x [seq, H] at positions 0..seq-1. */
  async layer(layer: number, x: Float32Array, seq: number): Promise<Float32Array> {
    if (Array.isArray(this.f.full_attention_layers)) return this.hybridLayer(layer, x, seq);
    const f = this.f;
    const H = f.hidden_size as number;
    const D = f.head_dim as number;
    const nH = f.num_attention_heads as number;
    const nKV = f.num_key_value_heads as number;
    const eps = f.rms_norm_eps as number;
    const p = `model.layers.${layer}`;
    const a = normRows(x, H, await this.need(`${p}.input_layernorm.weight`), eps, false);
    const bias = f.qkv_bias === true;
    const q = linear(a, seq, H, await this.need(`${p}.self_attn.q_proj.weight`), nH * D, await this.optional(`${p}.self_attn.q_proj.bias`, bias));
    const k = linear(a, seq, H, await this.need(`${p}.self_attn.k_proj.weight`), nKV * D, await this.optional(`${p}.self_attn.k_proj.bias`, bias));
    const v = linear(a, seq, H, await this.need(`${p}.self_attn.v_proj.weight`), nKV * D, await this.optional(`${p}.self_attn.v_proj.bias`, bias));
    if (f.qk_norm === true) {
      q.set(normRows(q, D, await this.need(`${p}.self_attn.q_norm.weight`), eps, false));
      k.set(normRows(k, D, await this.need(`${p}.self_attn.k_norm.weight`), eps, false));
    }
    rotateHalf(q, seq, nH, D, f.rope_inv_freq as readonly number[], f.rope_attention_scaling as number);
    rotateHalf(k, seq, nKV, D, f.rope_inv_freq as readonly number[], f.rope_attention_scaling as number);
    const attn = causalAttention(q, k, v, seq, nH, nKV, D);
    const o = linear(attn, seq, nH * D, await this.need(`${p}.self_attn.o_proj.weight`), H, await this.optional(`${p}.self_attn.o_proj.bias`, f.o_proj_bias === true));
    const h1 = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) h1[i] = x[i]! + o[i]!;
    const m = normRows(h1, H, await this.need(`${p}.post_attention_layernorm.weight`), eps, false);
    const sparse = Array.isArray(f.sparse_layers) && f.sparse_layers.includes(layer);
    const mlp = sparse ? await this.moe(p, m, seq) : await this.swiglu(`${p}.mlp`, m, seq, f.intermediate_size as number, f.mlp_bias === true);
    for (let i = 0; i < h1.length; i++) h1[i] = h1[i]! + mlp[i]!;
    return h1;
  }

  /**
   * A Qwen3-Next / Qwen3.5 layer: zero-centred norms, gated attention or Gated DeltaNet by the schedule
   * (reference-hybrid-layer.ts), then the dense or sparse MLP as for the other families.
   */
  private async hybridLayer(layer: number, x: Float32Array, seq: number): Promise<Float32Array> {
    const f = this.f;
    const H = f.hidden_size as number;
    const eps = f.rms_norm_eps as number;
    const zc = f.norm_zero_centred === true;
    const p = `${prefix(f)}.layers.${layer}`;
    const need = (name: string) => this.need(name);
    const a = normRows(x, H, await this.need(`${p}.input_layernorm.weight`), eps, zc);
    let mixed: Float32Array;
    if ((f.full_attention_layers as readonly number[]).includes(layer)) {
      mixed = await gatedAttention(f, p, a, seq, need, (name, present) => this.optional(name, present));
    } else {
      const fused = (await this.weight(`${p}.linear_attn.in_proj_qkvz.weight`)) !== undefined;
      mixed = await gatedDeltaNet(f, p, a, seq, need, () => fused);
    }
    const h1 = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) h1[i] = x[i]! + mixed[i]!;
    const m = normRows(h1, H, await this.need(`${p}.post_attention_layernorm.weight`), eps, zc);
    const sparse = Array.isArray(f.sparse_layers) && f.sparse_layers.includes(layer);
    const mlp = sparse ? await this.moe(p, m, seq) : await this.swiglu(`${p}.mlp`, m, seq, f.intermediate_size as number, false);
    for (let i = 0; i < h1.length; i++) h1[i] = h1[i]! + mlp[i]!;
    return h1;
  }

  /** The final norm and the head on the given head rows (a sample of the vocabulary): logits [seq, rows]. */
  async head(x: Float32Array, seq: number, headRows: Float32Array, rows: number): Promise<Float32Array> {
    const f = this.f;
    const H = f.hidden_size as number;
    const n = normRows(x, H, await this.need(`${prefix(f)}.norm.weight`), f.rms_norm_eps as number, f.norm_zero_centred === true);
    return linear(n, seq, H, headRows, rows);
  }

  private async swiglu(prefix: string, m: Float32Array, seq: number, width: number, bias: boolean): Promise<Float32Array> {
    const H = this.f.hidden_size as number;
    const gate = linear(m, seq, H, await this.need(`${prefix}.gate_proj.weight`), width, await this.optional(`${prefix}.gate_proj.bias`, bias));
    const up = linear(m, seq, H, await this.need(`${prefix}.up_proj.weight`), width, await this.optional(`${prefix}.up_proj.bias`, bias));
    for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]!) * up[i]!;
    return linear(gate, seq, width, await this.need(`${prefix}.down_proj.weight`), H, await this.optional(`${prefix}.down_proj.bias`, bias));
  }

  /** Router softmax over all experts, top-k, renormalised iff norm_topk_prob; Qwen2-MoE's gated shared expert. */
  private async moe(p: string, m: Float32Array, seq: number): Promise<Float32Array> {
    const f = this.f;
    const H = f.hidden_size as number;
    const E = f.num_experts as number;
    const K = f.num_experts_per_tok as number;
    const Im = f.moe_intermediate_size as number;
    const logits = linear(m, seq, H, await this.need(`${p}.mlp.gate.weight`), E);
    const out = new Float32Array(seq * H);
    const fusedUp = await this.weight(`${p}.mlp.experts.gate_up_proj`);
    const fusedDown = fusedUp ? await this.need(`${p}.mlp.experts.down_proj`) : undefined;
    for (let t = 0; t < seq; t++) {
      const row = logits.subarray(t * E, (t + 1) * E);
      const max = Math.max(...row);
      const probs = [...row].map((v) => Math.exp(v - max));
      const total = probs.reduce((s, v) => s + v, 0);
      const ranked = probs.map((v, e) => [v / total, e] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, K);
      const norm = f.norm_topk_prob === true ? ranked.reduce((s, [v]) => s + v, 0) : 1;
      const token = m.subarray(t * H, (t + 1) * H);
      for (const [weight, e] of ranked) {
        let y: Float32Array;
        if (fusedUp && fusedDown) {
          const gu = linear(token, 1, H, fusedUp.subarray(e * 2 * Im * H, (e + 1) * 2 * Im * H), 2 * Im);
          const act = new Float32Array(Im);
          for (let i = 0; i < Im; i++) act[i] = silu(gu[i]!) * gu[Im + i]!;
          y = linear(act, 1, Im, fusedDown.subarray(e * H * Im, (e + 1) * H * Im), H);
        } else {
          y = await this.swiglu(`${p}.mlp.experts.${e}`, token, 1, Im, false);
        }
        for (let i = 0; i < H; i++) out[t * H + i] = out[t * H + i]! + (weight / norm) * y[i]!;
      }
    }
    const shared = f.shared_expert_intermediate_size as number;
    if (shared > 0) {
      const y = await this.swiglu(`${p}.mlp.shared_expert`, m, seq, shared, false);
      const g = linear(m, seq, H, await this.need(`${p}.mlp.shared_expert_gate.weight`), 1);
      for (let t = 0; t < seq; t++) {
        const s = 1 / (1 + Math.exp(-g[t]!));
        for (let i = 0; i < H; i++) out[t * H + i] = out[t * H + i]! + s * y[t * H + i]!;
      }
    }
    return out;
  }
}

/** Where the text decoder's tensors sit (model.language_model for the Qwen3.5 wrappers). */
export function prefix(f: ConfigFacts): string {
  return typeof f.tensor_prefix === 'string' ? f.tensor_prefix : 'model';
}
