/**
 * Qwen3ForCausalLM (model_type "qwen3"): Qwen2 minus the q/k/v biases, plus per-head q_norm/k_norm, and an
 * explicit head_dim (nH·D may differ from H). reference/qwen-family.md §2.2.
 */
import type { ModelConfig } from '../../../../src/index.js';
import { Qwen2Family } from './qwen2-family.js';
import { LIMITS, type DecoderDims, type FieldReader } from '../../../decoder-kit/index.js';

/** Qwen3Config's class default: a config without head_dim runs with 128 in transformers, not H / nH. */
const QWEN3_DEFAULT_HEAD_DIM = 128;

export class Qwen3Family extends Qwen2Family {
  override readonly architecture: string = 'Qwen3ForCausalLM';
  override readonly modelType: string = 'qwen3';
  override readonly members: string = 'Qwen3 dense';

  /** attention_bias (false in every release) puts a bias on q, k, v and o alike. */
  protected override readAttention(r: FieldReader): Pick<DecoderDims, 'qkvBias' | 'oBias' | 'qkNorm'> {
    const bias = r.optionalBool('attention_bias', false);
    return { qkvBias: bias, oBias: bias, qkNorm: true };
  }

  protected override readHeadDim(config: ModelConfig, r: FieldReader, hidden: number, heads: number): number {
    if (config.head_dim === undefined) return QWEN3_DEFAULT_HEAD_DIM;
    if (config.head_dim === null) return super.readHeadDim(config, r, hidden, heads);
    return r.int('head_dim', LIMITS.headDim);
  }
}
