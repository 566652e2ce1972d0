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
    return `${this.architecture} (model_type "${this.modelType}": ${this.members}) with default RoPE, full attention, silu and unquantized weights`;
  }

  /** Validates config.json and derives the shape facts. Throws UNSUPPORTED_VARIANT for look-alikes. */
  readDims(config: ModelConfig): ReadDims {
    const warnings: string[] = [];
    const arch = this.architecture;
    this.checkVariant(config, warnings);
    const r = fieldReader(config, arch, this.supported);

    const hidden = r.int('hidden_size', LIMITS.hidden);
    const layers = r.int('num_hidden_layers', LIMITS.layers);
    const heads = r.int('num_attention_heads', LIMITS.heads);
    const vocab = r.int('vocab_size', LIMITS.vocab);
    const intermediate = this.readIntermediate(r);
    const kvHeads = r.optionalInt('num_key_value_heads', LIMITS.heads, heads);
    if (heads % kvHeads !== 0) {
      refuse(arch, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`, this.supported);
    }
    const headDim = this.readHeadDim(config, r, hidden, heads);
    if (headDim % 2 !== 0) refuse(arch, `head_dim ${headDim} is odd (RoPE rotates pairs)`, this.supported);

    const dims: DecoderDims = {
      modelType: this.modelType,
      hidden,
      intermediate,
      layers,
      heads,
      kvHeads,
      headDim,
      vocab,
      tied: r.optionalBool('tie_word_embeddings', false),
      ropeTheta: this.readRopeTheta(config, r, warnings),
      rmsNormEps: r.optionalNumber('rms_norm_eps', 1e-6),
      ...this.readAttention(r),
      configDtype: this.readConfigDtype(config, warnings),
    };
    const moe = this.readMoe(r, dims);
    if (moe) dims.moe = moe;

    const parameters = this.countParameters(dims);
    if (parameters > LIMITS.parameters) {
      refuse(arch, `the sizes in config.json make ${parameters.toExponential(2)} parameters`, this.supported);
    }
    return { dims, warnings };
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

  /**
   * Llama-style default: `attention_bias` (default false, configuration_llama.py) puts a bias on q, k, v and o
   * alike; no q/k norm. Families with fixed biases or q/k norm override this.
   */
  protected readAttention(r: FieldReader): Pick<DecoderDims, 'qkvBias' | 'oBias' | 'qkNorm'> {
    const bias = r.optionalBool('attention_bias', false);
    return { qkvBias: bias, oBias: bias, qkNorm: false };
  }

  protected readIntermediate(r: FieldReader): number {
    return r.int('intermediate_size', LIMITS.intermediate);
  }

  protected readMoe(_r: FieldReader, _dims: DecoderDims): MoeDims | undefined {
    return undefined;
  }

  /** head_dim when present and non-null, else H / nH (which must divide). */
  protected readHeadDim(config: ModelConfig, r: FieldReader, hidden: number, heads: number): number {
    if (config.head_dim !== undefined && config.head_dim !== null) return r.int('head_dim', LIMITS.headDim);
    if (hidden % heads !== 0) {
      refuse(this.architecture, `hidden_size ${hidden} is not a multiple of num_attention_heads ${heads} and head_dim is absent`, this.supported);
    }
    return hidden / heads;
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
      refuse(arch, `config.json has quantization_config (quant_method ${JSON.stringify(method)}): a pre-quantized checkpoint`, supported,
        'Import the unquantized repository instead (e.g. Qwen/Qwen2.5-0.5B rather than a -GPTQ/-AWQ/-FP8 release).');
    }
    const scaling = config.rope_scaling;
    if (scaling !== undefined && scaling !== null && !this.ropeTypes.includes(String(ropeType(scaling)))) {
      const accepted = this.ropeTypes.length === 1 ? 'rope_scaling null' : `rope_scaling null or rope_type ${this.ropeTypes.filter((t) => t !== 'default').map((t) => JSON.stringify(t)).join(', ')}`;
      refuse(arch, `rope_scaling is ${JSON.stringify(scaling)}`, `${supported} (${accepted})`,
        'Long-context RoPE (YaRN, dynamic, linear) is not implemented; remove rope_scaling only if you accept short-context behaviour.');
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

  protected readRopeTheta(config: ModelConfig, r: FieldReader, warnings: string[]): number {
    const params = config.rope_parameters as Record<string, unknown> | undefined | null;
    const nested = params && typeof params === 'object' ? params.rope_theta : undefined;
    const top = r.optionalNumber('rope_theta', 10_000);
    if (nested === undefined || nested === null) return top;
    if (typeof nested !== 'number' || !Number.isFinite(nested) || nested <= 0) {
      refuse(this.architecture, `rope_parameters.rope_theta is ${JSON.stringify(nested)}, expected a positive number`, this.supported);
    }
    if (config.rope_theta !== undefined && config.rope_theta !== null && config.rope_theta !== nested) {
      warnings.push(`rope_theta ${String(config.rope_theta)} and rope_parameters.rope_theta ${nested} disagree; using rope_parameters`);
    }
    return nested;
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
