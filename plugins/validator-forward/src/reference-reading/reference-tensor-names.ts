/**
 * The tensors a transformers checkpoint of these families holds, with their shapes, derived from the validator's
 * own config facts (modeling_qwen2/qwen3/qwen2_moe/qwen3_moe/llama.py module names). Checked against the converted
 * files' headers: a converter that misread head_dim or the tied head writes or links a folder whose shapes
 * disagree with what transformers would load. Fused 3-D experts (transformers 5) are accepted in place of the
 * per-expert tensors.
 */
import type { ConfigFacts } from '../../../../src/index.js';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** Alternative layout accepted instead (fused experts): every listed tensor must then be present. */
  alternatives?: { name: string; shape: number[] }[][];
}

export function referenceTensorNames(f: ConfigFacts): ExpectedTensor[] {
  const h = f.hidden_size as number;
  const d = f.head_dim as number;
  const q = (f.num_attention_heads as number) * d;
  const kv = (f.num_key_value_heads as number) * d;
  const out: ExpectedTensor[] = [
    { name: 'model.embed_tokens.weight', shape: [f.vocab_size as number, h] },
    { name: 'model.norm.weight', shape: [h] },
  ];
  if (f.tie_word_embeddings !== true) out.push({ name: 'lm_head.weight', shape: [f.vocab_size as number, h] });
  const sparse = new Set(Array.isArray(f.sparse_layers) ? f.sparse_layers : []);
  for (let i = 0; i < (f.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [h] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [h] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, h] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, h] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, h] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [h, q] },
    );
    if (f.qkv_bias === true) {
      out.push({ name: `${p}.self_attn.q_proj.bias`, shape: [q] }, { name: `${p}.self_attn.k_proj.bias`, shape: [kv] }, { name: `${p}.self_attn.v_proj.bias`, shape: [kv] });
    }
    if (f.o_proj_bias === true) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [h] });
    if (f.qk_norm === true) out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [d] }, { name: `${p}.self_attn.k_norm.weight`, shape: [d] });
    if (!sparse.has(i)) {
      const w = f.intermediate_size as number;
      out.push(...mlp(`${p}.mlp`, h, w, f.mlp_bias === true));
      continue;
    }
    const e = f.num_experts as number;
    const m = f.moe_intermediate_size as number;
    out.push({ name: `${p}.mlp.gate.weight`, shape: [e, h] });
    const perExpert: { name: string; shape: number[] }[] = [];
    for (let x = 0; x < e; x++) perExpert.push(...mlp(`${p}.mlp.experts.${x}`, h, m, false));
    // transformers 5 fused experts: gate_up_proj [E, 2*Im, H], down_proj [E, H, Im]
    const fused = [{ name: `${p}.mlp.experts.gate_up_proj`, shape: [e, 2 * m, h] }, { name: `${p}.mlp.experts.down_proj`, shape: [e, h, m] }];
    out.push({ name: `${p}.mlp.experts`, shape: [], alternatives: [perExpert, fused] });
    const shared = f.shared_expert_intermediate_size as number;
    if (shared > 0) {
      out.push(...mlp(`${p}.mlp.shared_expert`, h, shared, false), { name: `${p}.mlp.shared_expert_gate.weight`, shape: [1, h] });
    }
  }
  return out;
}

function mlp(prefix: string, h: number, w: number, bias: boolean): ExpectedTensor[] {
  const t: ExpectedTensor[] = [
    { name: `${prefix}.gate_proj.weight`, shape: [w, h] },
    { name: `${prefix}.up_proj.weight`, shape: [w, h] },
    { name: `${prefix}.down_proj.weight`, shape: [h, w] },
  ];
  if (bias) t.push({ name: `${prefix}.gate_proj.bias`, shape: [w] }, { name: `${prefix}.up_proj.bias`, shape: [w] }, { name: `${prefix}.down_proj.bias`, shape: [h] });
  return t;
}
