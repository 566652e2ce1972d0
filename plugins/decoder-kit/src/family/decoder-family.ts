/**
 * DecoderFamily: the generic body of a Llama-style decoder family (embeddings, N x [RMSNorm, attention, RMSNorm,
 * MLP], final norm, lm_head) — config reading through FieldReader, look-alike refusals, the tensor list the
 * inventory checks and the parameter count. A concrete family (one file) names its architecture and model_type
 * and overrides only what differs (the llama.cpp `TextModel` + per-family subclass shape).
 */
import type { ModelConfig, TargetDtype } from '../../../../src/index.js';
import { fieldReader, refuse, type FieldReader } from './config-fields.js';
import { tensorPrefix, type DecoderDims, type MoeDims } from './decoder-dims.js';
import { elementCount, single, type TensorGroup, type TensorSpec } from '../inventory/tensor-spec.js';
import { FAMILY_DEFAULTS, FAMILY_KEYS, type FamilyDefaults } from '../config/family-config-defaults.js';
import { readDecoderConfig, type DecoderConfigReading } from '../config/read-decoder-config.js';
import { ropeSpecOf } from '../config/rope-spec-of.js';
import { coreSizeOptions, requireCoreSizes, requireDenseWidth } from './core-sizes.js';

/** Bounds far above any released model; anything beyond is a broken or hostile config, not a big model. */
export const LIMITS = Object.freeze({
  hidden: 65_536,
  intermediate: 1_048_576,
  layers: 1_000,
  heads: 8_192,
  headDim: 8_192,
  vocab: 10_000_000,
  experts: 4_096,
  /** 10 T parameters: keeps every derived count an exact double and refuses absurd products of sane fields. */
  parameters: 1e13,
});

const CONFIG_DTYPES: Record<string, TargetDtype> = { bfloat16: 'bf16', float16: 'f16', float32: 'f32' };

/**
 * A part of a published checkpoint that is kept byte for byte beside the text decoder but is not computed by it
 * (a vision tower, a multi-token-prediction head): the inventory keeps its tensors, the conversion says so, and
 * nothing validates them.
 */
export interface KeptPart {
  /** For messages and metadata, e.g. "vision tower". */
  part: string;
  /** Tensor-name prefix, e.g. "model.visual.". */
  prefix: string;
}

export interface ReadDims {
  dims: DecoderDims;
  warnings: string[];
}

export abstract class DecoderFamily {
  /** config.json `architectures[0]` this family converts; the plugin taps it and lists it as a claim. */
  abstract readonly architecture: string;
  /** Further architecture names with the same facts (tapped and claimed like `architecture`). */
  readonly extraArchitectures: readonly string[] = [];
  /** config.json `model_type`; also tapped, for configs without `architectures` (ArchitectureClaim.architecture). */
  abstract readonly modelType: string;
  /** Human release names, for refusal messages (e.g. "Qwen1.5, Qwen2, Qwen2.5"). */
  abstract readonly members: string;
  /** ArchitectureClaim.family: the human family name shown in listings (e.g. "qwen", "llama"). */
  abstract readonly familyName: string;
  /**
   * Max |Δ| of logits between our ONNX graph and the reference forward on tiny models, kept beside the
   * converter as optimum keeps ATOL_FOR_VALIDATION beside each model config. fp32 graph vs fp32 reference.
   */
  readonly tolerance: number = 1e-4;
  /**
   * rope_type values this family accepts (rope_scaling / rope_parameters). The kit's graph and reference compute
   * default, linear, dynamic, yarn and llama3 (blocks/rotary.ts); a family lists those its releases use and
   * transformers' modeling file for it applies. Anything else is refused at recognition.
   */
  readonly ropeTypes: readonly string[] = ['default'];

  /** Whether the kit's ONNX graph builder (src/onnx) and reference forward cover this family. */
  readonly hasOnnxGraph: boolean = true;

  /**
   * Whether the kit's whole-decoder graph and reference cover these dims. Every DecoderDims field is wired into
   * build-decoder-graph.ts and the reference now (output gate, zero-centred norms, hybrid Gated DeltaNet layers,
   * tensor prefix, mask-derived positions), so this is the family's say; a family overrides it to withhold the
   * graph (and so the forward check) for dims it knows the builder would get wrong, rather than ship a graph that
   * silently ignores a field.
   */
  coversGraph(_dims: DecoderDims): boolean {
    return this.hasOnnxGraph;
  }

  /**
   * Why transformers.js cannot load this family's folders although they are correct (it has no model class for the
   * model_type); validators then skip their transformers.js check with this reason. Absent: it can.
   */
  readonly transformersJsUnsupported?: string;

  /** Published tensors kept beside the text decoder but not part of it (KeptPart); none by default. */
  readonly keptParts: readonly KeptPart[] = [];

  /**
   * Edits the config.json the model folder publishes (a copy of the fetched one), returning a note per change;
   * none by default. A family whose runtimes need a key the source leaves to a default writes it here.
   */
  editPublishedConfig(_config: ModelConfig, _dims: DecoderDims): string[] {
    return [];
  }

  /** Every architecture name this family answers (`architecture` first). */
  get architectures(): readonly string[] {
    return [this.architecture, ...this.extraArchitectures];
  }

  /** What the family supports, for refusal messages. */
  get supported(): string {
    return `${this.architecture} (model_type "${this.modelType}": ${this.members}) with ${this.ropeTypes.join(' / ')} RoPE, full attention, silu and unquantized or fp8 block-quantised weights`;
  }

  /**
   * Validates config.json and derives the shape facts. Throws UNSUPPORTED_VARIANT for look-alikes. The numbers
   * come from one typed reading with transformers' defaults (readConfig); the override points below shape them.
   */
  readDims(config: ModelConfig): ReadDims {
    const warnings: string[] = [];
    const arch = this.architecture;
    this.checkVariant(config, warnings);
    const sizes = coreSizeOptions(this.configDefaults);
    requireCoreSizes(config, arch, sizes);
    const reading = this.readConfig(config);
    const r = fieldReader(config, arch, this.supported);

    const { hidden, layers, heads, kvHeads, vocab } = reading;
    const intermediate = this.readIntermediate(r, reading);
    const headDim = this.readHeadDim(config, r, hidden, heads, reading);
    if (headDim % 2 !== 0) refuse(arch, `head_dim ${headDim} is odd (RoPE rotates pairs)`, this.supported);
    // The kit's MLP block has no biases (LlamaConfig.mlp_bias puts one on gate/up/down).
    if (reading.mlpBias) refuse(arch, 'mlp_bias is true', `${this.supported} (mlp_bias false)`);

    const dims: DecoderDims = {
      modelType: this.modelType,
      hidden,
      intermediate,
      layers,
      heads,
      kvHeads,
      headDim,
      vocab,
      tied: reading.tied,
      ropeTheta: this.readRopeTheta(config, r, warnings, reading),
      rmsNormEps: reading.rmsNormEps,
      ...this.readAttention(r, reading),
      configDtype: this.readConfigDtype(config, warnings),
    };
    // Default RoPE over the whole head is what an absent dims.rope means; anything else is stated.
    const rope = ropeSpecOf({ ...reading.rope, theta: dims.ropeTheta }, headDim, reading.maxPositionEmbeddings);
    if (rope.scaling || rope.partialRotaryFactor !== 1) dims.rope = rope;
    const moe = this.readMoe(r, dims, reading);
    if (moe) dims.moe = moe;
    requireDenseWidth(config, arch, dims, sizes);

    const parameters = this.countParameters(dims);
    if (parameters > LIMITS.parameters) {
      refuse(arch, `the sizes in config.json make ${parameters.toExponential(2)} parameters`, this.supported);
    }
    return { dims, warnings };
  }

  /**
   * The defaults of this family's transformers config class, which fill every key config.json leaves out
   * (config/family-config-defaults.ts, each table citing its configuration_*.py). The base is Llama-shaped and
   * reads with LlamaConfig's unless that file has a table for this model_type; a family of another config class
   * overrides this with its own table.
   */
  protected get configDefaults(): FamilyDefaults {
    return FAMILY_DEFAULTS[FAMILY_KEYS[this.modelType] ?? 'llama'];
  }

  /** config.json read the way transformers reads it (config/read-decoder-config.ts) with configDefaults. */
  protected readConfig(config: ModelConfig): DecoderConfigReading {
    return readDecoderConfig(config, this.modelType, this.configDefaults);
  }

  /** Every tensor the checkpoint must hold, lm_head excluded (see lmHead). */
  tensorGroups(d: DecoderDims): TensorGroup[] {
    const prefix = tensorPrefix(d);
    const groups: TensorGroup[] = [single({ name: `${prefix}.embed_tokens.weight`, shape: [d.vocab, d.hidden] })];
    for (let i = 0; i < d.layers; i++) {
      const p = `${prefix}.layers.${i}`;
      groups.push(single({ name: `${p}.input_layernorm.weight`, shape: [d.hidden] }));
      for (const spec of this.attentionTensors(p, d)) groups.push(single(spec));
      groups.push(single({ name: `${p}.post_attention_layernorm.weight`, shape: [d.hidden] }));
      groups.push(...this.mlpGroups(i, p, d));
    }
    groups.push(single({ name: `${prefix}.norm.weight`, shape: [d.hidden] }));
    return groups;
  }

  lmHead(d: DecoderDims): TensorSpec {
    return { name: 'lm_head.weight', shape: [d.vocab, d.hidden] };
  }

  /** Tensors some writers add that carry no parameters (buffers); they are reported as warnings. */
  isHarmlessExtra(name: string): boolean {
    return /^model\.(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/.test(name);
  }

  /** Parameters from the config's shapes, tied embeddings counted once (the first layout of each group). */
  countParameters(d: DecoderDims): number {
    let total = 0;
    for (const group of this.tensorGroups(d)) for (const spec of group.layouts[0]) total += elementCount(spec.shape);
    if (!d.tied) total += elementCount(this.lmHead(d).shape);
    return total;
  }

  // ---- what subclasses override ------------------------------------------------------------------------
  // Each point gets the FieldReader (for keys of the family's own) and the typed reading (for the numbers
  // transformers computes); the base takes the reading as it is.

  protected attentionTensors(p: string, d: DecoderDims): TensorSpec[] {
    const q = d.heads * d.headDim;
    const kv = d.kvHeads * d.headDim;
    const out: TensorSpec[] = [];
    for (const [proj, rows] of [['q_proj', q], ['k_proj', kv], ['v_proj', kv]] as const) {
      out.push({ name: `${p}.self_attn.${proj}.weight`, shape: [rows, d.hidden] });
      if (d.qkvBias) out.push({ name: `${p}.self_attn.${proj}.bias`, shape: [rows] });
    }
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [d.hidden, q] });
    if (d.oBias) out.push({ name: `${p}.self_attn.o_proj.bias`, shape: [d.hidden] });
    if (d.qkNorm) {
      out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [d.headDim] });
      out.push({ name: `${p}.self_attn.k_norm.weight`, shape: [d.headDim] });
    }
    return out;
  }

  protected mlpGroups(_layer: number, p: string, d: DecoderDims): TensorGroup[] {
    return denseMlp(`${p}.mlp`, d.hidden, d.intermediate).map(single);
  }

  /** Biases and q/k norm as the family's config class fixes or reads them (attention_bias, qkv_bias, ...). */
  protected readAttention(_r: FieldReader, reading: DecoderConfigReading): Pick<DecoderDims, 'qkvBias' | 'oBias' | 'qkNorm'> {
    return { qkvBias: reading.qkvBias, oBias: reading.oBias, qkNorm: reading.qkNorm };
  }

  protected readIntermediate(_r: FieldReader, reading: DecoderConfigReading): number {
    return reading.intermediate;
  }

  /**
   * The routing facts; undefined for a dense family. The reading already bounds num_experts_per_tok by
   * num_experts and intermediate_size (for dense layers) below by 1.
   */
  protected readMoe(_r: FieldReader, _dims: DecoderDims, reading: DecoderConfigReading): MoeDims | undefined {
    return reading.moe ? { ...reading.moe, mlpOnlyLayers: [...reading.moe.mlpOnlyLayers] } : undefined;
  }

  /** head_dim, or the family's default when absent (Qwen3Config: 128; the others hidden // heads). */
  protected readHeadDim(_config: ModelConfig, _r: FieldReader, _hidden: number, _heads: number, reading: DecoderConfigReading): number {
    return reading.headDim;
  }

  // ---- look-alike refusals ----------------------------------------------------------------------------

  protected checkVariant(config: ModelConfig, warnings: string[]): void {
    const arch = this.architecture;
    const supported = this.supported;
    const modelType = config.model_type;
    if (modelType === undefined || modelType === null) {
      refuse(arch, 'config.json has no model_type', supported, 'The config is incomplete; download it again or fix it.');
    }
    if (modelType !== this.modelType) {
      refuse(arch, `config model_type is ${JSON.stringify(modelType)} under architecture ${arch}`, supported,
        'Vision-language, omni and other look-alikes need their own adapter.');
    }
    if (config.vision_config !== undefined && config.vision_config !== null) {
      refuse(arch, 'config.json has a vision_config (a vision-language model)', supported);
    }
    const quant = config.quantization_config;
    if (quant !== undefined && quant !== null) {
      const method = typeof quant === 'object' && typeof (quant as Record<string, unknown>).quant_method === 'string'
        ? (quant as Record<string, string>).quant_method : 'unknown';
      // Fine-grained FP8 is dequantised at conversion (weights/dequantized-fp8.ts); the typed reader checks its fields.
      if (method !== 'fp8') refuse(arch, `config.json has quantization_config (quant_method ${JSON.stringify(method)}): a pre-quantized checkpoint`, supported,
        'Import the unquantized repository instead (e.g. Qwen/Qwen2.5-0.5B rather than a -GPTQ/-AWQ release), or its -FP8 release.');
    }
    const scaling = config.rope_scaling;
    if (scaling !== undefined && scaling !== null && !this.ropeTypes.includes(String(ropeType(scaling)))) {
      const accepted = this.ropeTypes.length === 1 ? 'rope_scaling null' : `rope_scaling null or rope_type ${this.ropeTypes.filter((t) => t !== 'default').map((t) => JSON.stringify(t)).join(', ')}`;
      refuse(arch, `rope_scaling is ${JSON.stringify(scaling)}`, `${supported} (${accepted})`,
        `${arch} is imported with rope_type ${this.ropeTypes.join(', ')} (those its transformers modeling applies and the kit computes); remove rope_scaling only if you accept short-context behaviour.`);
    }
    const params = config.rope_parameters;
    if (params !== undefined && params !== null) {
      if (typeof params !== 'object' || Array.isArray(params)) {
        refuse(arch, `rope_parameters is ${JSON.stringify(params)}`, `${supported} (rope_parameters {rope_type: "default"})`);
      }
      const type = ropeType(params);
      if (!this.ropeTypes.includes(String(type))) {
        refuse(arch, `rope_parameters.rope_type is ${JSON.stringify(type)}`, `${supported} (rope_type ${this.ropeTypes.map((t) => JSON.stringify(t)).join(' or ')})`);
      }
    }
    if (config.use_sliding_window === true) {
      refuse(arch, 'use_sliding_window is true', `${supported} (use_sliding_window false)`);
    }
    const layerTypes = config.layer_types;
    if (layerTypes !== undefined && layerTypes !== null) {
      const other = Array.isArray(layerTypes) ? layerTypes.find((t) => t !== 'full_attention') : layerTypes;
      if (other !== undefined) refuse(arch, `layer_types contains ${JSON.stringify(other)}`, `${supported} (every layer "full_attention")`);
    }
    const act = config.hidden_act;
    if (act !== undefined && act !== null && act !== 'silu') {
      refuse(arch, `hidden_act is ${JSON.stringify(act)}`, `${supported} (hidden_act "silu")`);
    }
    if (config.auto_map !== undefined) {
      warnings.push('config.json has auto_map (remote code); it is ignored: the weights are read as standard transformers tensors');
    }
  }

  /** rope_parameters.rope_theta (v5) before rope_theta (v4), as the typed reading resolved it; a disagreement is said. */
  protected readRopeTheta(config: ModelConfig, _r: FieldReader, warnings: string[], reading: DecoderConfigReading): number {
    const params = config.rope_parameters as Record<string, unknown> | undefined | null;
    const nested = params && typeof params === 'object' ? params.rope_theta : undefined;
    if (nested !== undefined && nested !== null && config.rope_theta !== undefined && config.rope_theta !== null && config.rope_theta !== nested) {
      warnings.push(`rope_theta ${String(config.rope_theta)} and rope_parameters.rope_theta ${String(nested)} disagree; using rope_parameters`);
    }
    return reading.rope.theta;
  }

  /** torch_dtype (transformers ≤ 4.5x) or dtype (later): both spellings accepted. */
  protected readConfigDtype(config: ModelConfig, warnings: string[]): TargetDtype | undefined {
    const old = config.torch_dtype;
    const neu = config.dtype;
    if (typeof old === 'string' && typeof neu === 'string' && old !== neu) {
      warnings.push(`config.json says torch_dtype ${old} and dtype ${neu}; using dtype`);
    }
    const value = typeof neu === 'string' ? neu : typeof old === 'string' ? old : undefined;
    if (value === undefined || value === 'auto') return undefined;
    const dtype = CONFIG_DTYPES[value];
    if (!dtype) warnings.push(`config.json dtype ${JSON.stringify(value)} is not one of bfloat16/float16/float32; the weights decide`);
    return dtype;
  }
}

export function denseMlp(p: string, hidden: number, width: number): TensorSpec[] {
  return [
    { name: `${p}.gate_proj.weight`, shape: [width, hidden] },
    { name: `${p}.up_proj.weight`, shape: [width, hidden] },
    { name: `${p}.down_proj.weight`, shape: [hidden, width] },
  ];
}

/** rope_scaling used `type`, later `rope_type`; absent means default. */
export function ropeType(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  return v.rope_type ?? v.type ?? 'default';
}
