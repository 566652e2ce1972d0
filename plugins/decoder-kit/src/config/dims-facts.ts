/**
 * What a family's DecoderDims (the reading the graph and the conversion are built from) say about config.json,
 * as the ConfigFacts a validator compares with its own reading. The rope facts are what the graph's rotary block
 * computes from dims.rope.
 */
import type { ConfigFacts } from '../../../../src/index.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import { isSparseLayer } from '../family/decoder-dims.js';
import type { RopeSpec } from '../blocks/rope-spec.js';
import { rotaryParameters } from '../blocks/rotary.js';

export function dimsFacts(dims: DecoderDims): ConfigFacts {
  const rope: RopeSpec = dims.rope ?? { theta: dims.ropeTheta, partialRotaryFactor: 1 };
  const rotary = rotaryParameters(rope, dims.headDim);
  const facts: Record<string, ConfigFacts[string]> = {
    hidden_size: dims.hidden,
    intermediate_size: dims.intermediate,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    num_key_value_heads: dims.kvHeads,
    head_dim: dims.headDim,
    vocab_size: dims.vocab,
    tie_word_embeddings: dims.tied,
    rms_norm_eps: dims.rmsNormEps,
    qkv_bias: dims.qkvBias,
    o_proj_bias: dims.oBias,
    qk_norm: dims.qkNorm,
    mlp_bias: false,
    // The rotary parameters the graph's rotary block computes from dims.rope (default RoPE when absent).
    rope_type: rope.scaling?.type ?? 'default',
    rotary_dim: rotary.rotaryDim,
    rope_factor: rope.scaling?.factor ?? 1,
    rope_attention_scaling: rotary.attentionFactor,
    rope_inv_freq: [...rotary.invFreq],
  };
  if (dims.hybrid) {
    // The hybrid decoders (Qwen3-Next, Qwen3.5): the schedule as the full-attention layer indices, the Gated
    // DeltaNet sizes, the attention output gate, zero-centred norms and where the text decoder's tensors sit.
    const l = dims.hybrid.linear;
    facts.full_attention_layers = dims.hybrid.layerTypes.flatMap((type, i) => (type === 'full_attention' ? [i] : []));
    facts.linear_conv_kernel_dim = l.kernel;
    facts.linear_key_head_dim = l.keyDim;
    facts.linear_value_head_dim = l.valueDim;
    facts.linear_num_key_heads = l.keyHeads;
    facts.linear_num_value_heads = l.valueHeads;
    facts.attn_output_gate = dims.attentionOutputGate === true;
    facts.norm_zero_centred = dims.normZeroCentred === true;
    facts.tensor_prefix = dims.tensorPrefix ?? 'model';
  }
  if (dims.moe) {
    facts.num_experts = dims.moe.experts;
    facts.num_experts_per_tok = dims.moe.topK;
    facts.moe_intermediate_size = dims.moe.moeIntermediate;
    facts.shared_expert_intermediate_size = dims.moe.sharedIntermediate;
    facts.norm_topk_prob = dims.moe.normTopkProb;
    facts.sparse_layers = Array.from({ length: dims.layers }, (_, i) => i).filter((i) => isSparseLayer(dims, i));
  }
  return facts;
}
