/**
 * Qwen3NextForCausalLM (model_type "qwen3_next": Qwen3-Next-80B-A3B, Qwen3-Coder-Next) — the base of the hybrid
 * Qwen families (Qwen3.5 and Qwen3.5-MoE subclass it and override what differs). Facts:
 * docs/qwen3-next-and-qwen3.5.md.
 *
 * A hybrid decoder: `layer_types` says per layer whether it is a Gated DeltaNet layer (linear_attn.*) or gated full
 * attention (self_attn.* with a doubled q_proj: query and output gate per head, zero-centred q/k norms, partial
 * rotary); every RMSNorm but the gated one inside linear_attn is zero-centred (1 + w). Qwen3-Next's DeltaNet
 * projections are fused (in_proj_qkvz, in_proj_ba, grouped per key head); its MLPs are routed experts with a gated
 * shared expert. The multi-token-prediction head (mtp.*) is kept byte for byte but is no part of the forward pass
 * (transformers ignores it on load), so it is not validated.
 */
import type { ModelConfig } from '../../../../src/index.js';
import {
  LIMITS,
  coreSizeOptions,
  denseMlp,
  requireCoreSizes,
  requireDenseWidth,
  fieldReader,
  isLinearAttentionLayer,
  isSparseLayer,
  linearAttentionSizes,
  moeLayerGroups,
  readHybridLayout,
  refuse,
  single,
  tensorPrefix,
  type DecoderDims,
  type FieldReader,
  type KeptPart,
  type MoeDims,
  type ReadDims,
  type TensorGroup,
  type TensorSpec,
} from '../../../decoder-kit/index.js';
import { Qwen3Family } from './qwen3-family.js';
import { checkTextKeys, readHybridRope, type HybridTextDefaults } from './hybrid-text-config.js';

export const MTP_HEAD: KeptPart = { part: 'MTP head', prefix: 'mtp.' };
export const VISION_TOWER: KeptPart = { part: 'vision tower', prefix: 'model.visual.' };

// transformers/models/qwen3_next/configuration_qwen3_next.py (Qwen3NextConfig): vocab 151936, hidden 2048,
// intermediate 5632, 48 layers, 16 heads, 2 KV heads, head_dim 256, rope_theta 10000, partial_rotary_factor 0.25
// (__post_init__ setdefault), 512 experts, top-10, expert width 512, shared expert 512, norm_topk_prob True,
// decoder_sparse_step 1, mlp_only_layers [] (None becomes []).
const QWEN3_NEXT: HybridTextDefaults = {
  vocab_size: 151936, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 48, num_attention_heads: 16,
  num_key_value_heads: 2, head_dim: 256, rope_theta: 10000, partial_rotary_factor: 0.25,
  moe: { num_experts: 512, num_experts_per_tok: 10, moe_intermediate_size: 512, shared_expert_intermediate_size: 512, configurableLayout: true, norm_topk_prob: true },
};

export class Qwen3NextFamily extends Qwen3Family {
  override readonly architecture: string = 'Qwen3NextForCausalLM';
  override readonly modelType: string = 'qwen3_next';
  override readonly members: string = 'Qwen3-Next, Qwen3-Coder-Next';
  /** The text config's model_type (the same as modelType except for the Qwen3.5 wrappers). */
  protected readonly textModelType: string = 'qwen3_next';
  protected readonly defaults: HybridTextDefaults = QWEN3_NEXT;
  /** How the Gated DeltaNet input projections are stored (modeling_qwen3_next.py vs modeling_qwen3_5.py). */
  readonly projectionLayout: 'fused' | 'split' = 'fused';
  /**
   * Max |Δ| of logits, graph vs reference: 1e-3, not the 1e-4 of the plain decoders, because these decoders can be
   * so sensitive to float32 rounding that no two correct float32 passes agree within 1e-4 (measured against a
   * float64 run of the kit's reference; docs/qwen3-next-and-qwen3.5.md has the figures):
   * - On the tiny fixtures (logits up to ~12) most positions agree within 3e-5; the worst, Qwen3.5 text-only seed 43
   *   (hybrid-seeded-defects.test.ts), reaches 3.8e-4 graph vs reference, and the graph and the kit's reference are
   *   then 3.0e-4 and 8e-5 from float64: every float32 implementation is off, none diverges.
   * - Fed the same float32 input, each layer of the graph, the kit and validator-forward's own math is within 1.5e-5
   *   of float64 for every layer kind (Gated DeltaNet, gated attention, dense and MoE MLPs). What is large is the
   *   model's response to rounding: one float32 ulp on the embedding moves the float64 logits by 4.4e-4
   *   (hybrid-float32-floor.test.ts: 6.8e-4 with the kit's reference).
   * - Where: a Gated DeltaNet head that forgets within a token gives o ≈ (q·k)·β·v; when q·k ≈ 0 for that token
   *   the gated RMSNorm (Qwen3NextRMSNormGated, over Dv values, eps 1e-6) scales that near-cancellation up to
   *   1000x. Realistic gates do not remove it: the fixtures use transformers' dt_bias 1 and A_log from
   *   log(uniform(1, 16)); transformers' own log(uniform(0, 16)) gives up to 7.6e-4, and with fla's slow-forgetting
   *   dt init one ulp on the embedding still moves some checkpoints' logits by 1.6e-4.
   * 1e-3 covers these and stays far below what any seeded layer defect gives (≥ 0.7, hybrid-seeded-defects.test.ts).
   */
  override readonly tolerance: number = 1e-3;
  /** Published tensors kept beside the text decoder (transformers' `_keys_to_ignore_on_load_unexpected`). */
  override readonly keptParts: readonly KeptPart[] = [MTP_HEAD];

  override get supported(): string {
    return `${this.architecture} (model_type "${this.modelType}": ${this.members}) with linear_attention/full_attention layers, default (partial) RoPE, silu and unquantized weights`;
  }

  /** The text model's config: the file itself here; `text_config` for the Qwen3.5 wrappers. */
  protected textConfig(config: ModelConfig, _warnings: string[]): { text: ModelConfig; where: string } {
    return { text: config, where: '' };
  }

  /** Qwen3.5 graphs take no position_ids (transformers.js 4.3.1's MRoPE path, decoder-dims.ts). */
  protected readonly positionsFromMask: boolean = false;
  protected readonly prefix: string = 'model';
  /** The folder gets transformers.js's embed_tokens + decoder_model_merged pair (DecoderDims.embedsSession). */
  protected get embedsSession(): boolean {
    return false;
  }

  override readDims(config: ModelConfig): ReadDims {
    const warnings: string[] = [];
    const arch = this.architecture;
    const supported = this.supported;
    if (config.model_type !== this.modelType) {
      refuse(arch, `config model_type is ${JSON.stringify(config.model_type)} under architecture ${arch}`, supported,
        'Vision-language, omni and other look-alikes need their own adapter.');
    }
    const { text, where } = this.textConfig(config, warnings);
    if (text.model_type !== this.textModelType) {
      refuse(arch, `${where}model_type is ${JSON.stringify(text.model_type)}, expected "${this.textModelType}"`, supported);
    }
    checkTextKeys(text, arch, supported, this.defaults, where);
    this.checkHybridVariant(config, text, where, warnings);

    const d = this.defaults;
    const sizes = coreSizeOptions(d, where);
    requireCoreSizes(text, arch, sizes);
    const r = fieldReader(text, arch, supported);
    const hidden = r.optionalInt('hidden_size', LIMITS.hidden, d.hidden_size);
    const layers = r.optionalInt('num_hidden_layers', LIMITS.layers, d.num_hidden_layers);
    const heads = r.optionalInt('num_attention_heads', LIMITS.heads, d.num_attention_heads);
    const kvHeads = r.optionalInt('num_key_value_heads', LIMITS.heads, d.num_key_value_heads);
    if (heads % kvHeads !== 0) refuse(arch, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`, supported);
    const headDim = r.optionalInt('head_dim', LIMITS.headDim, d.head_dim);
    const bias = r.optionalBool('attention_bias', false);
    const rope = readHybridRope(text, arch, supported, d, headDim, warnings, where);
    const dims: DecoderDims = {
      modelType: this.modelType,
      hidden,
      intermediate: d.intermediate_size === 0 ? 0 : r.optionalInt('intermediate_size', LIMITS.intermediate, d.intermediate_size),
      layers,
      heads,
      kvHeads,
      headDim,
      vocab: r.optionalInt('vocab_size', LIMITS.vocab, d.vocab_size),
      tied: this.readTied(config, text, r, warnings),
      ropeTheta: rope.theta,
      rmsNormEps: r.optionalNumber('rms_norm_eps', 1e-6),
      // Qwen3NextAttention: attention_bias on q, k, v and o alike; q_norm/k_norm per head.
      qkvBias: bias,
      oBias: bias,
      qkNorm: true,
      rope,
      attentionOutputGate: true,
      normZeroCentred: true,
      hybrid: readHybridLayout(text, arch, { hidden, layers }),
      tensorPrefix: this.prefix,
      positionsFromMask: this.positionsFromMask,
      ...(this.embedsSession ? { embedsSession: true } : {}),
      configDtype: this.readConfigDtype(text.dtype !== undefined || text.torch_dtype !== undefined ? text : config, warnings),
    };
    const moe = this.readHybridMoe(r, dims, warnings);
    if (moe) dims.moe = moe;
    requireDenseWidth(text, arch, dims, sizes);
    const parameters = this.countParameters(dims);
    if (parameters > LIMITS.parameters) refuse(arch, `the sizes in config.json make ${parameters.toExponential(2)} parameters`, supported);
    return { dims, warnings };
  }

  /** Refusals beyond unknown keys: quantization, sliding windows, the activation, a disabled output gate. */
  protected checkHybridVariant(config: ModelConfig, text: ModelConfig, where: string, warnings: string[]): void {
    const arch = this.architecture;
    for (const [w, c] of [['', config], [where, text]] as const) {
      const quant = c.quantization_config;
      if (quant !== undefined && quant !== null) {
        const method = typeof quant === 'object' && typeof (quant as Record<string, unknown>).quant_method === 'string'
          ? (quant as Record<string, string>).quant_method : 'unknown';
        refuse(arch, `${w}quantization_config (quant_method ${JSON.stringify(method).slice(0, 40)}): a pre-quantized checkpoint`, this.supported,
          'Import the unquantized repository instead (e.g. Qwen/Qwen3.5-27B rather than a -FP8 release).');
      }
    }
    if (text.use_sliding_window === true) refuse(arch, `${where}use_sliding_window is true`, `${this.supported} (use_sliding_window false)`);
    const act = text.hidden_act;
    if (act !== undefined && act !== null && act !== 'silu') refuse(arch, `${where}hidden_act is ${JSON.stringify(act).slice(0, 40)}`, `${this.supported} (hidden_act "silu")`);
    // transformers' Qwen3NextAttention always gates; a file that says otherwise does not describe that model.
    if (text.attn_output_gate === false) refuse(arch, `${where}attn_output_gate is false`, `${this.supported} (the gated attention of transformers' Qwen3NextAttention)`);
    if (config.auto_map !== undefined) warnings.push('config.json has auto_map (remote code); it is ignored: the weights are read as standard transformers tensors');
  }

  protected readTied(_config: ModelConfig, _text: ModelConfig, r: FieldReader, _warnings: string[]): boolean {
    return r.optionalBool('tie_word_embeddings', false);
  }

  /**
   * Qwen3NextDecoderLayer: the sparse block when the layer is not in mlp_only_layers, num_experts > 0 and
   * (i + 1) % decoder_sparse_step == 0, else a dense MLP of intermediate_size.
   */
  protected readHybridMoe(r: FieldReader, dims: DecoderDims, _warnings: string[]): MoeDims | undefined {
    const m = this.defaults.moe;
    if (!m) return undefined;
    const experts = r.optionalCount('num_experts', LIMITS.experts, m.num_experts);
    if (experts === 0) return undefined; // num_experts 0: every layer dense (the modeling condition above)
    const topK = r.optionalInt('num_experts_per_tok', LIMITS.experts, m.num_experts_per_tok);
    if (topK > experts) refuse(this.architecture, `num_experts_per_tok ${topK} exceeds num_experts ${experts}`, this.supported);
    const moe: MoeDims = {
      experts,
      topK,
      moeIntermediate: r.optionalInt('moe_intermediate_size', LIMITS.intermediate, m.moe_intermediate_size),
      sharedIntermediate: r.optionalInt('shared_expert_intermediate_size', LIMITS.intermediate, m.shared_expert_intermediate_size),
      decoderSparseStep: m.configurableLayout ? r.optionalInt('decoder_sparse_step', LIMITS.layers, 1) : 1,
      mlpOnlyLayers: m.configurableLayout ? r.optionalIndexList('mlp_only_layers', dims.layers) : [],
      normTopkProb: m.configurableLayout ? r.optionalBool('norm_topk_prob', m.norm_topk_prob) : m.norm_topk_prob,
    };
    return moe;
  }

  override tensorGroups(d: DecoderDims): TensorGroup[] {
    const P = tensorPrefix(d);
    const groups: TensorGroup[] = [single({ name: `${P}.embed_tokens.weight`, shape: [d.vocab, d.hidden] })];
    for (let i = 0; i < d.layers; i++) {
      const p = `${P}.layers.${i}`;
      groups.push(single({ name: `${p}.input_layernorm.weight`, shape: [d.hidden] }));
      const mixer = isLinearAttentionLayer(d, i) ? this.linearAttentionTensors(p, d) : this.attentionTensors(p, d);
      for (const spec of mixer) groups.push(single(spec));
      groups.push(single({ name: `${p}.post_attention_layernorm.weight`, shape: [d.hidden] }));
      groups.push(...this.mlpGroups(i, p, d));
    }
    groups.push(single({ name: `${P}.norm.weight`, shape: [d.hidden] }));
    return groups;
  }

  /** Gated attention: q_proj holds query and gate per head (2·nH·D rows). */
  protected override attentionTensors(p: string, d: DecoderDims): TensorSpec[] {
    const q = d.heads * d.headDim;
    const kv = d.kvHeads * d.headDim;
    const out: TensorSpec[] = [];
    for (const [proj, rows] of [['q_proj', 2 * q], ['k_proj', kv], ['v_proj', kv]] as const) {
      out.push({ name: `${p}.self_attn.${proj}.weight`, shape: [rows, d.hidden] });
      if (d.qkvBias) out.push({ name: `${p}.self_attn.${proj}.bias`, shape: [rows] });
    }
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [d.hidden, q] });
    if (d.oBias) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [d.hidden] });
    out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [d.headDim] }, { name: `${p}.self_attn.k_norm.weight`, shape: [d.headDim] });
    return out;
  }

  /** Gated DeltaNet (linear_attn.*): shapes from modeling_qwen3_next.py / modeling_qwen3_5.py, conv1d without bias. */
  protected linearAttentionTensors(p: string, d: DecoderDims): TensorSpec[] {
    const l = d.hybrid!.linear;
    const { keyWidth, valueWidth, convChannels } = linearAttentionSizes(l);
    const a = `${p}.linear_attn`;
    const projections: TensorSpec[] = this.projectionLayout === 'fused'
      ? [
        { name: `${a}.in_proj_qkvz.weight`, shape: [2 * keyWidth + 2 * valueWidth, d.hidden] },
        { name: `${a}.in_proj_ba.weight`, shape: [2 * l.valueHeads, d.hidden] },
      ]
      : [
        { name: `${a}.in_proj_qkv.weight`, shape: [convChannels, d.hidden] },
        { name: `${a}.in_proj_z.weight`, shape: [valueWidth, d.hidden] },
        { name: `${a}.in_proj_b.weight`, shape: [l.valueHeads, d.hidden] },
        { name: `${a}.in_proj_a.weight`, shape: [l.valueHeads, d.hidden] },
      ];
    return [
      ...projections,
      { name: `${a}.conv1d.weight`, shape: [convChannels, 1, l.kernel] },
      { name: `${a}.dt_bias`, shape: [l.valueHeads] },
      { name: `${a}.A_log`, shape: [l.valueHeads] },
      { name: `${a}.norm.weight`, shape: [l.valueDim] },
      { name: `${a}.out_proj.weight`, shape: [d.hidden, valueWidth] },
    ];
  }

  protected override mlpGroups(layer: number, p: string, d: DecoderDims): TensorGroup[] {
    if (!d.moe || !isSparseLayer(d, layer)) return denseMlp(`${p}.mlp`, d.hidden, d.intermediate).map(single);
    return moeLayerGroups(layer, p, d, true);
  }

  override isHarmlessExtra(name: string): boolean {
    return /^model\.(language_model\.)?(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/.test(name);
  }

  /**
   * The published config.json gains `layer_types` when the source has only full_attention_interval (the released
   * Qwen3-Next files): transformers.js 4.3.1 names its cache inputs from config.layer_types and throws without it,
   * and transformers reads the same schedule either way (layer_types wins over the interval in __post_init__).
   */
  override editPublishedConfig(config: ModelConfig, d: DecoderDims): string[] {
    if (!d.hybrid?.derivedLayerTypes) return [];
    const { target, where } = this.publishedTextConfig(config);
    target.layer_types = [...d.hybrid.layerTypes];
    return [`${where}layer_types written (${d.hybrid.layerTypes.length} layers, derived from full_attention_interval)`];
  }

  /** Where the text model's keys go in the published config (the top level here). */
  protected publishedTextConfig(config: ModelConfig): { target: Record<string, unknown>; where: string } {
    return { target: config as Record<string, unknown>, where: '' };
  }
}
