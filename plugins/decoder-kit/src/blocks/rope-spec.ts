/**
 * What a rotary embedding needs, as a family's config reader fills it (DecoderDims.rope). The numbers are
 * transformers' (modeling_rope_utils.py, ROPE_INIT_FUNCTIONS): each variant yields inv_freq over the rotated
 * width and an attention factor that scales cos and sin.
 */
export type RopeScaling =
  /** inv_freq / factor (`_compute_linear_scaling_rope_parameters`). */
  | { type: 'linear'; factor: number }
  /**
   * NTK-aware: base · (factor·seq/max − (factor − 1))^(dim/(dim−2)), with seq = max(seq, max_position_embeddings).
   * The graph uses the frequencies at seq = maxPositionEmbeddings (where the formula leaves the base unchanged),
   * so it is exact up to that length; transformers recomputes them beyond it.
   */
  | { type: 'dynamic'; factor: number; maxPositionEmbeddings: number }
  /**
   * YaRN: a ramp between interpolated (inv_freq / factor) and extrapolated frequencies over the dims between the
   * correction range of betaFast/betaSlow rotations (defaults 32 and 1) at originalMaxPositionEmbeddings,
   * floored/ceiled when truncate (default true); attention factor 0.1·ln(factor)+1 unless given (or the mscale /
   * mscaleAllDim ratio).
   */
  | {
      type: 'yarn';
      factor: number;
      originalMaxPositionEmbeddings: number;
      betaFast?: number;
      betaSlow?: number;
      truncate?: boolean;
      attentionFactor?: number;
      mscale?: number;
      mscaleAllDim?: number;
    }
  /** Llama 3.1: low frequencies / factor, high kept, a smooth blend between (`_compute_llama3_parameters`). */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export interface RopeSpec {
  /** rope_theta (rope_parameters.rope_theta in transformers 5). */
  theta: number;
  /** partial_rotary_factor: the first int(head_dim · factor) dims of each head rotate, the rest pass (default 1). */
  partialRotaryFactor: number;
  /** Absent for rope_type "default". */
  scaling?: RopeScaling;
  /**
   * mrope_section (Qwen2-VL / Qwen3.5 style, over rotaryDim / 2 frequency slots; `interleaved` for
   * mrope_interleaved). For text tokens the temporal, height and width positions are the same, so every
   * section sees the same position and the rotation equals the plain one: it only has to be consistent.
   */
  mropeSection?: { sections: number[]; interleaved: boolean };
}
