/**
 * The converter's reading as the facts a validator compares with its own reading (ValidationSupport.configFacts):
 * transformers' field names, and the derived facts the graph is built from (rotary dimensions, inv_freq, which
 * layers are sparse).
 */
import type { ConfigFacts } from '../../../../src/index.js';
import type { DecoderConfigReading } from './read-decoder-config.js';
import { ropeInverseFrequencies } from './rope-parameters.js';

export function configFacts(r: DecoderConfigReading): ConfigFacts {
  const facts: Record<string, ConfigFacts[string]> = {
    hidden_size: r.hidden,
    intermediate_size: r.intermediate,
    num_hidden_layers: r.layers,
    num_attention_heads: r.heads,
    num_key_value_heads: r.kvHeads,
    head_dim: r.headDim,
    vocab_size: r.vocab,
    tie_word_embeddings: r.tied,
    rms_norm_eps: r.rmsNormEps,
    qkv_bias: r.qkvBias,
    o_proj_bias: r.oBias,
    qk_norm: r.qkNorm,
    mlp_bias: r.mlpBias,
    rope_type: r.rope.type,
    rotary_dim: r.rope.rotaryDim,
    rope_factor: r.rope.factor,
    rope_attention_scaling: r.rope.attentionScaling,
    rope_inv_freq: [...ropeInverseFrequencies(r.rope)],
  };
  if (r.moe) {
    const m = r.moe;
    facts.num_experts = m.experts;
    facts.num_experts_per_tok = m.topK;
    facts.moe_intermediate_size = m.moeIntermediate;
    facts.shared_expert_intermediate_size = m.sharedIntermediate;
    facts.norm_topk_prob = m.normTopkProb;
    const sparse: number[] = [];
    for (let i = 0; i < r.layers; i++) if (!m.mlpOnlyLayers.includes(i) && (i + 1) % m.decoderSparseStep === 0) sparse.push(i);
    facts.sparse_layers = sparse;
  }
  return facts;
}
