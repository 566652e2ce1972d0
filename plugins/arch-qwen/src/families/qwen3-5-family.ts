/**
 * Qwen3_5ForConditionalGeneration (model_type "qwen3_5": Qwen3.5, 3.6 and 3.8 dense) and its text-only re-save
 * Qwen3_5ForCausalLM ("qwen3_5_text"). The text model is Qwen3-Next's hybrid decoder with a dense MLP, split
 * Gated DeltaNet projections (in_proj_qkv, in_proj_z, in_proj_b, in_proj_a) and MRoPE sections for the
 * attention layers; the wrapper keeps it in `text_config` and its tensors under model.language_model.*, beside the
 * vision tower (model.visual.*) and the MTP head (mtp.*), which are kept byte for byte and not validated.
 * docs/qwen3-next-and-qwen3.5.md §1–§3.
 */
import type { ModelConfig } from '../../../../src/index.js';
import { refuse, type FieldReader, type KeptPart } from '../../../decoder-kit/index.js';
import { MTP_HEAD, VISION_TOWER, Qwen3NextFamily } from './qwen3-next-family.js';
import { checkWrapperKeys, type HybridTextDefaults } from './hybrid-text-config.js';

// transformers/models/qwen3_5/configuration_qwen3_5.py (Qwen3_5TextConfig): vocab 248320, hidden 4096,
// intermediate 12288, 32 layers, 16 heads, 4 KV heads, head_dim 256, partial_rotary_factor 0.25 (__post_init__),
// no MoE keys; rope_theta from modeling_rope_utils' default 10000 (the releases say 1e7 in rope_parameters).
// mrope_section [11, 11, 10]: Qwen3_5TextRotaryEmbedding's fallback (modeling_qwen3_5.py).
const QWEN3_5_TEXT: HybridTextDefaults = {
  vocab_size: 248320, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 32, num_attention_heads: 16,
  num_key_value_heads: 4, head_dim: 256, rope_theta: 10000, partial_rotary_factor: 0.25, mrope_section: [11, 11, 10],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Qwen35Family extends Qwen3NextFamily {
  override readonly architecture: string = 'Qwen3_5ForConditionalGeneration';
  override readonly modelType: string = 'qwen3_5';
  override readonly members: string = 'Qwen3.5, Qwen3.6, Qwen3.8 dense';
  protected override readonly textModelType: string = 'qwen3_5_text';
  protected override readonly defaults: HybridTextDefaults = QWEN3_5_TEXT;
  override readonly projectionLayout: 'fused' | 'split' = 'split';
  override readonly keptParts: readonly KeptPart[] = [VISION_TOWER, MTP_HEAD];
  protected override readonly positionsFromMask: boolean = true;
  protected override readonly prefix: string = 'model.language_model';
  /** The wrapper layout (text_config, model.language_model.*); false for the text-only re-saves. */
  protected readonly wrapped: boolean = true;
  /** transformers.js loads the wrappers as image-text-to-text in text-only mode; the re-saves as causal LMs. */
  protected override get embedsSession(): boolean {
    return this.wrapped;
  }

  /** Qwen3_5Config: text_config (absent = every Qwen3_5TextConfig default), vision_config kept as it is. */
  protected override textConfig(config: ModelConfig, warnings: string[]): { text: ModelConfig; where: string } {
    if (!this.wrapped) return super.textConfig(config, warnings);
    checkWrapperKeys(config, this.architecture, this.supported);
    const vision = config.vision_config;
    if (vision !== undefined && vision !== null && !isObject(vision)) {
      refuse(this.architecture, `vision_config is ${JSON.stringify(vision).slice(0, 40)}, expected an object`, this.supported);
    }
    const text = config.text_config;
    if (text === undefined || text === null) return { text: { model_type: this.textModelType }, where: 'text_config.' };
    if (!isObject(text)) refuse(this.architecture, `text_config is ${JSON.stringify(text).slice(0, 40)}, expected an object`, this.supported);
    return { text: text as ModelConfig, where: 'text_config.' };
  }

  /**
   * tie_word_embeddings sits on the wrapper (Qwen3_5Config, default False) and in text_config (default False);
   * when both are given they must agree, since transformers versions differ in which one they read.
   */
  protected override readTied(config: ModelConfig, text: ModelConfig, r: FieldReader, warnings: string[]): boolean {
    if (!this.wrapped) return super.readTied(config, text, r, warnings);
    const inner = r.optionalBool('tie_word_embeddings', false);
    const outer = config.tie_word_embeddings;
    if (outer === undefined || outer === null) return inner;
    if (typeof outer !== 'boolean') refuse(this.architecture, `tie_word_embeddings is ${JSON.stringify(outer).slice(0, 40)}, expected true or false`, this.supported);
    if (text.tie_word_embeddings !== undefined && text.tie_word_embeddings !== null && outer !== inner) {
      refuse(this.architecture, `tie_word_embeddings is ${outer} but text_config.tie_word_embeddings is ${inner}`, this.supported);
    }
    return outer;
  }

  protected override publishedTextConfig(config: ModelConfig): { target: Record<string, unknown>; where: string } {
    if (!this.wrapped) return super.publishedTextConfig(config);
    if (!isObject(config.text_config)) config.text_config = { model_type: this.textModelType };
    return { target: config.text_config as Record<string, unknown>, where: 'text_config.' };
  }
}

/**
 * Qwen3_5ForCausalLM (model_type "qwen3_5_text"): the text model saved on its own, tensors under model.*.
 * transformers ignores mtp.* and model.visual.* when loading it (`_keys_to_ignore_on_load_unexpected`), so a
 * re-save that still carries them is kept whole too.
 */
export class Qwen35TextFamily extends Qwen35Family {
  override readonly architecture: string = 'Qwen3_5ForCausalLM';
  override readonly modelType: string = 'qwen3_5_text';
  override readonly members: string = 'Qwen3.5 dense text-only re-saves';
  protected override readonly prefix: string = 'model';
  protected override readonly wrapped: boolean = false;
}
