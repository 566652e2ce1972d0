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
  // The Qwen3.5 wrappers keep the text decoder under model.language_model (lm_head stays top level).
  const P = typeof f.tensor_prefix === 'string' ? f.tensor_prefix : 'model';
  const full = Array.isArray(f.full_attention_layers) ? new Set(f.full_attention_layers) : undefined;
  // Qwen3NextAttention's q_proj holds the query and the output gate of every head.
  const qRows = f.attn_output_gate === true ? 2 * q : q;
  const out: ExpectedTensor[] = [
    { name: `${P}.embed_tokens.weight`, shape: [f.vocab_size as number, h] },
    { name: `${P}.norm.weight`, shape: [h] },
  ];
  if (f.tie_word_embeddings !== true) out.push({ name: 'lm_head.weight', shape: [f.vocab_size as number, h] });
  const sparse = new Set(Array.isArray(f.sparse_layers) ? f.sparse_layers : []);
  for (let i = 0; i < (f.num_hidden_layers as number); i++) {
    const p = `${P}.layers.${i}`;
    out.push({ name: `${p}.input_layernorm.weight`, shape: [h] }, { name: `${p}.post_attention_layernorm.weight`, shape: [h] });
    if (full && !full.has(i)) out.push(...gatedDeltaNet(`${p}.linear_attn`, h, f));
    else {
      out.push(
        { name: `${p}.self_attn.q_proj.weight`, shape: [qRows, h] },
        { name: `${p}.self_attn.k_proj.weight`, shape: [kv, h] },
        { name: `${p}.self_attn.v_proj.weight`, shape: [kv, h] },
        { name: `${p}.self_attn.o_proj.weight`, shape: [h, q] },
      );
      if (f.qkv_bias === true) {
        out.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qRows] }, { name: `${p}.self_attn.k_proj.bias`, shape: [kv] }, { name: `${p}.self_attn.v_proj.bias`, shape: [kv] });
      }
      if (f.o_proj_bias === true) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [h] });
      if (f.qk_norm === true) out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [d] }, { name: `${p}.self_attn.k_norm.weight`, shape: [d] });
    }
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

/**
 * A Gated DeltaNet layer (modeling_qwen3_next.py / modeling_qwen3_5.py): Qwen3-Next fuses the input projections
 * (in_proj_qkvz, in_proj_ba), Qwen3.5 keeps four; either layout is accepted, with its shapes.
 */
function gatedDeltaNet(a: string, h: number, f: ConfigFacts): ExpectedTensor[] {
  const keyWidth = (f.linear_num_key_heads as number) * (f.linear_key_head_dim as number);
  const valueHeads = f.linear_num_value_heads as number;
  const valueWidth = valueHeads * (f.linear_value_head_dim as number);
  const conv = 2 * keyWidth + valueWidth;
  const fused = [{ name: `${a}.in_proj_qkvz.weight`, shape: [2 * keyWidth + 2 * valueWidth, h] }, { name: `${a}.in_proj_ba.weight`, shape: [2 * valueHeads, h] }];
  const split = [
    { name: `${a}.in_proj_qkv.weight`, shape: [conv, h] },
    { name: `${a}.in_proj_z.weight`, shape: [valueWidth, h] },
    { name: `${a}.in_proj_b.weight`, shape: [valueHeads, h] },
    { name: `${a}.in_proj_a.weight`, shape: [valueHeads, h] },
  ];
  return [
    { name: `${a}.in_proj`, shape: [], alternatives: [fused, split] },
    { name: `${a}.conv1d.weight`, shape: [conv, 1, f.linear_conv_kernel_dim as number] },
    { name: `${a}.dt_bias`, shape: [valueHeads] },
    { name: `${a}.A_log`, shape: [valueHeads] },
    { name: `${a}.norm.weight`, shape: [f.linear_value_head_dim as number] },
    { name: `${a}.out_proj.weight`, shape: [h, valueWidth] },
  ];
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
