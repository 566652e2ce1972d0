/**
 * What a family's DecoderDims (the reading the graph and the conversion are built from) say about config.json,
 * as the ConfigFacts a validator compares with its own reading. The kit's graph applies default RoPE over the
 * whole head, so the rope facts are those of rope_type "default" with dims.ropeTheta.
 */
import type { ConfigFacts } from '../../../../src/index.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import { isSparseLayer } from '../family/decoder-dims.js';
import { ropeInverseFrequencies } from './rope-parameters.js';

export function dimsFacts(dims: DecoderDims): ConfigFacts {
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
    rope_type: 'default',
    rotary_dim: dims.headDim,
    rope_factor: 1,
    rope_attention_scaling: 1,
    rope_inv_freq: [...ropeInverseFrequencies({
      type: 'default', theta: dims.ropeTheta, rotaryDim: dims.headDim, factor: 1, originalMaxPositionEmbeddings: 0,
      attentionScaling: 1, betaFast: 32, betaSlow: 1, truncate: true,
    })],
  };
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
