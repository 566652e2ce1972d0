/**
 * Writes a seeded, random-weight Qwen model folder (config.json + safetensors, single or sharded) of any shape:
 * tiny ones for tests, a Qwen2.5-0.5B-shaped one for the benchmark. Tensor data is generated chunk by chunk while
 * it is written, so a 1 GB model never sits in JS memory. Test tooling only: not exported from the barrel.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { f32ToBf16, f32ToF16, writeSafetensors, type TensorToWrite } from '../../../../src/formats/safetensors/index.js';
import type { ModelConfig } from '../../../../src/index.js';
import { isSparseLayer, readForwardDims } from '../reference/forward-dims.js';
import { gatedAttentionTensors, linearAttentionTensors, seededLinearLayer, TINY_HYBRID, wrapperExtraTensors, type HybridSeededFamily } from './seeded-hybrid.js';

export type SeededFamily = 'qwen2' | 'qwen3' | 'qwen2_moe' | 'qwen3_moe' | HybridSeededFamily;
export type SeededDtype = 'bf16' | 'f16' | 'f32';

export interface SeededModelOptions {
  seed: number;
  family: SeededFamily;
  dtype: SeededDtype;
  tied: boolean;
  /** 1 = model.safetensors; n > 1 = model-0000k-of-0000n.safetensors + index. */
  shards?: number;
  /** MoE expert layout: one tensor per expert (checkpoints on the Hub) or the fused transformers v5 tensors. */
  expertLayout?: 'per-expert' | 'fused';
  /** Tied models: also store lm_head.weight as a copy of the embedding (as some Qwen3 files do). */
  tiedCopy?: boolean;
  /** Config fields overriding the tiny defaults (hidden_size, num_hidden_layers, ...). */
  config?: Partial<ModelConfig>;
  /** Qwen3.5 wrappers: fields merged into text_config. */
  textConfig?: Partial<ModelConfig>;
  /**
   * Gated DeltaNet projections: 'fused' (in_proj_qkvz / in_proj_ba, Qwen3-Next) or 'split' (in_proj_qkv / z /
   * b / a, Qwen3.5). Default: the family's own.
   */
  linearLayout?: 'fused' | 'split';
  /** Qwen3.5 wrappers: also write small model.visual.* and mtp.* tensors (kept by a converter, unused here). */
  wrapperExtras?: boolean;
  /** Tensors stored as float32 whatever `dtype` says (released hybrids keep e.g. A_log in float32). */
  float32Tensors?: (name: string) => boolean;
}

const TINY: Record<SeededFamily, ModelConfig> = {
  ...TINY_HYBRID,
  qwen2: {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 96,
    rope_theta: 1000000.0,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 512,
    hidden_act: 'silu',
    use_sliding_window: false,
  },
  qwen3: {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16, // nH·D = 64 ≠ H, as in Qwen3-0.6B
    vocab_size: 96,
    rope_theta: 1000000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 512,
    hidden_act: 'silu',
    attention_bias: false,
  },
  qwen2_moe: {
    architectures: ['Qwen2MoeForCausalLM'],
    model_type: 'qwen2_moe',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 96,
    rope_theta: 1000000.0,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 512,
    hidden_act: 'silu',
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: 16,
    shared_expert_intermediate_size: 24,
    norm_topk_prob: false,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    qkv_bias: true,
  },
  qwen3_moe: {
    architectures: ['Qwen3MoeForCausalLM'],
    model_type: 'qwen3_moe',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    vocab_size: 96,
    rope_theta: 1000000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 512,
    hidden_act: 'silu',
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: 16,
    norm_topk_prob: true,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
  },
};

/** The config of Qwen2.5-0.5B (reference/qwen-family.md §3, C-a). */
export const QWEN25_05B_CONFIG: ModelConfig = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151643,
};

interface SeededTensor {
  name: string;
  shape: number[];
  /** Values are uniform in [center - spread, center + spread]. */
  center: number;
  spread: number;
}

/** Every tensor a config implies, with the value range the seeded weights use. */
export function seededTensorList(config: ModelConfig, options: Pick<SeededModelOptions, 'expertLayout' | 'tiedCopy' | 'linearLayout' | 'wrapperExtras'> = {}): SeededTensor[] {
  const dims = readForwardDims(config);
  const { hidden: H, heads: nH, kvHeads: nKV, headDim: D, vocab: V } = dims;
  const P = dims.tensorPrefix;
  const list: SeededTensor[] = [];
  const linear = (name: string, out: number, inDim: number) => list.push({ name, shape: [out, inDim], center: 0, spread: 2 / Math.sqrt(inDim) });
  // Zero-centred norms (scale 1 + w) are stored near 0, plain ones near 1.
  const norm = (name: string, n: number) => list.push({ name, shape: [n], center: dims.normZeroCentred ? 0 : 1, spread: 0.2 });
  const bias = (name: string, n: number) => list.push({ name, shape: [n], center: 0, spread: 0.1 });
  list.push({ name: `${P}.embed_tokens.weight`, shape: [V, H], center: 0, spread: 0.25 });
  for (let i = 0; i < dims.layers; i++) {
    const p = `${P}.layers.${i}`;
    norm(`${p}.input_layernorm.weight`, H);
    norm(`${p}.post_attention_layernorm.weight`, H);
    if (seededLinearLayer(dims, i)) {
      list.push(...linearAttentionTensors(p, dims, options.linearLayout ?? (dims.family === 'qwen3_next' ? 'fused' : 'split')));
    } else if (dims.attentionOutputGate) {
      list.push(...gatedAttentionTensors(p, dims));
    } else {
      linear(`${p}.self_attn.q_proj.weight`, nH * D, H);
      linear(`${p}.self_attn.k_proj.weight`, nKV * D, H);
      linear(`${p}.self_attn.v_proj.weight`, nKV * D, H);
      linear(`${p}.self_attn.o_proj.weight`, H, nH * D);
      if (dims.qkvBias) {
        bias(`${p}.self_attn.q_proj.bias`, nH * D);
        bias(`${p}.self_attn.k_proj.bias`, nKV * D);
        bias(`${p}.self_attn.v_proj.bias`, nKV * D);
      }
      if (dims.oBias) bias(`${p}.self_attn.o_proj.bias`, H);
      if (dims.qkNorm) {
        norm(`${p}.self_attn.q_norm.weight`, D);
        norm(`${p}.self_attn.k_norm.weight`, D);
      }
    }
    if (isSparseLayer(dims, i)) {
      const moe = dims.moe!;
      const Im = moe.moeIntermediate;
      linear(`${p}.mlp.gate.weight`, moe.experts, H);
      if (options.expertLayout === 'fused') {
        list.push({ name: `${p}.mlp.experts.gate_up_proj`, shape: [moe.experts, 2 * Im, H], center: 0, spread: 1 / Math.sqrt(H) });
        list.push({ name: `${p}.mlp.experts.down_proj`, shape: [moe.experts, H, Im], center: 0, spread: 1 / Math.sqrt(Im) });
      } else {
        for (let e = 0; e < moe.experts; e++) {
          linear(`${p}.mlp.experts.${e}.gate_proj.weight`, Im, H);
          linear(`${p}.mlp.experts.${e}.up_proj.weight`, Im, H);
          linear(`${p}.mlp.experts.${e}.down_proj.weight`, H, Im);
        }
      }
      if (moe.sharedIntermediate > 0) {
        linear(`${p}.mlp.shared_expert.gate_proj.weight`, moe.sharedIntermediate, H);
        linear(`${p}.mlp.shared_expert.up_proj.weight`, moe.sharedIntermediate, H);
        linear(`${p}.mlp.shared_expert.down_proj.weight`, H, moe.sharedIntermediate);
        linear(`${p}.mlp.shared_expert_gate.weight`, 1, H);
      }
    } else {
      linear(`${p}.mlp.gate_proj.weight`, dims.intermediate, H);
      linear(`${p}.mlp.up_proj.weight`, dims.intermediate, H);
      linear(`${p}.mlp.down_proj.weight`, H, dims.intermediate);
    }
  }
  norm(`${P}.norm.weight`, H);
  if (!dims.tied) linear('lm_head.weight', V, H);
  if (options.wrapperExtras) list.push(...wrapperExtraTensors(dims));
  return list;
}

/** mulberry32: a 32-bit generator that stays exact in JS (Math.imul, >>> 0); see §7.8 on the naive LCG. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

const CHUNK = 1 << 20;

/** The tensor's values, chunk by chunk, encoded in the dtype; depends only on (seed, name), not on order. */
function* tensorBytes(seed: number, tensor: SeededTensor, dtype: SeededDtype, copyOf?: SeededTensor): Generator<Uint8Array> {
  const source = copyOf ?? tensor;
  const next = generator(seed ^ hashName(source.name));
  const count = source.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(Math.min(CHUNK, count));
  for (let done = 0; done < count; done += values.length) {
    const n = Math.min(values.length, count - done);
    const chunk = values.subarray(0, n);
    for (let i = 0; i < n; i++) chunk[i] = source.center + (2 * next() - 1) * source.spread;
    if (dtype === 'f32') yield new Uint8Array(chunk.slice().buffer);
    else {
      const halves = dtype === 'bf16' ? f32ToBf16(chunk) : f32ToF16(chunk);
      yield new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
    }
  }
}

const DTYPE_NAMES: Record<SeededDtype, { st: string; torch: string }> = {
  bf16: { st: 'BF16', torch: 'bfloat16' },
  f16: { st: 'F16', torch: 'float16' },
  f32: { st: 'F32', torch: 'float32' },
};

/** Writes config.json and the weights into dir (created if needed); returns the config written. */
export async function writeSeededModel(dir: string, options: SeededModelOptions): Promise<ModelConfig> {
  const base = options.config?.model_type === undefined ? TINY[options.family] : {};
  const config: ModelConfig = {
    ...base,
    ...options.config,
    tie_word_embeddings: options.tied,
    torch_dtype: DTYPE_NAMES[options.dtype].torch,
  };
  if (options.textConfig) config.text_config = { ...(config.text_config as ModelConfig | undefined), ...options.textConfig };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);

  const tensors = seededTensorList(config, options);
  const embedding = tensors[0];
  if (options.tied && options.tiedCopy) tensors.push({ ...embedding, name: 'lm_head.weight' });
  const dtypeOf = (name: string): SeededDtype => (options.float32Tensors?.(name) ? 'f32' : options.dtype);
  const toWrite = (t: SeededTensor): TensorToWrite => ({
    name: t.name,
    dtype: DTYPE_NAMES[dtypeOf(t.name)].st,
    shape: t.shape,
    data: () => tensorBytes(options.seed, t, dtypeOf(t.name), t.name === 'lm_head.weight' && options.tied ? embedding : undefined),
  });

  const shards = Math.max(1, options.shards ?? 1);
  if (shards === 1) {
    await writeSafetensors(join(dir, 'model.safetensors'), tensors.map(toWrite), { format: 'pt' }, { sync: false });
    return config;
  }
  const pad = (n: number) => String(n).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const per = Math.ceil(tensors.length / shards);
  for (let k = 0; k < shards; k++) {
    const part = tensors.slice(k * per, (k + 1) * per);
    const file = `model-${pad(k + 1)}-of-${pad(shards)}.safetensors`;
    const header = await writeSafetensors(join(dir, file), part.map(toWrite), { format: 'pt' }, { sync: false });
    for (const t of header.tensors) {
      weightMap[t.name] = file;
      totalSize += t.end - t.begin;
    }
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`);
  return config;
}
