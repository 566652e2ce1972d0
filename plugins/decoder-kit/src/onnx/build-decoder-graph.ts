/**
 * Writes onnx/model.onnx: the decoder (Qwen2/Qwen3 and MoE shapes) as plain opset-17 ops, with every weight an external
 * initializer that points into the model's own safetensors (hard-linked into onnx/, §7.3, §7.8). The graph
 * follows the transformers.js decoder conventions (graph-contract.ts, §7.4): input_ids, attention_mask, position_ids,
 * past_key_values.{i}.key/value in, logits and present.{i}.key/value out, KV as [batch, nKV, seq, D].
 *
 * Design choices, each measured (see bench.ts and the report in the commit log):
 * - Weights stay in the checkpoint dtype; bf16/f16 get a Cast to float at run time. Folding those casts at
 *   session creation would hold a float32 copy of every weight (2 GB for a 0.5B model), so defaultSessionOptions
 *   keep constant folding off.
 * - Linear layers are Gemm(x[N,in], W[out,in], transB=1): the [out,in] layout is used as stored, no Transpose.
 * - The (tied) LM head is split into row chunks, each its own external initializer over a byte range of the same
 *   tensor, so at most one chunk's float32 copy exists at a time.
 * - Attention is explicit: RoPE from position_ids, Concat for the cache, a causal + padding additive mask,
 *   Softmax, MatMul. GroupQueryAttention is avoided: it assumes right padding and is wrong for left-padded batches.
 */
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../../../../src/index.js';
import { isSparseLayer, readForwardDims, type ForwardDims } from '../reference/forward-dims.js';
import { applyRotaryGraph, rotaryParameters, rotaryTablesGraph } from '../blocks/rotary.js';
import { ModelWeights, type WeightDtype, type WeightLocation } from '../reference/model-weights.js';
import { DataType, GraphBuilder, type ElemType } from './graph-builder.js';
import { linkWeightFiles } from './link-weight-files.js';

import { GRAPH_PATH, OPSET } from './graph-contract.js';

export { GRAPH_PATH, OPSET };
const IR_VERSION = 8;
/** Upper bound of one LM-head chunk's float32 copy. */
const DEFAULT_HEAD_CHUNK_BYTES = 64 << 20;
/** float32's most negative value: what HF's eager attention adds to masked scores (finite, so no NaN rows). */
const MASKED = -3.4028234663852886e38;

export interface BuildDecoderGraphOptions {
  modelDir: string;
  config: ModelConfig;
  /** Weight file names relative to modelDir (default: from model.safetensors.index.json, else model.safetensors). */
  weightFiles?: string[];
  /** Largest float32 size of one LM-head chunk (default 64 MiB). */
  headChunkBytes?: number;
}

export interface BuildDecoderGraphResult {
  graphPath: typeof GRAPH_PATH;
  warnings: string[];
  opset: number;
}

const ELEM: Record<WeightDtype, ElemType> = { BF16: DataType.BFLOAT16, F16: DataType.FLOAT16, F32: DataType.FLOAT };
const ELEM_SIZE: Record<WeightDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export async function buildDecoderGraph(options: BuildDecoderGraphOptions): Promise<BuildDecoderGraphResult> {
  const dims = readForwardDims(options.config);
  const weights = await ModelWeights.open(options.modelDir, options.weightFiles);
  const warnings = [...dims.notes];
  if (dims.tied && weights.has('lm_head.weight')) {
    warnings.push('tie_word_embeddings is true and the checkpoint also holds lm_head.weight: the graph uses model.embed_tokens.weight');
  }
  if (dims.moe) {
    warnings.push(`MoE layers evaluate all ${dims.moe.experts} experts for every token and weight them by the router (exact, but ${dims.moe.experts / dims.moe.topK}x the expert compute of sparse dispatch)`);
  }
  const bytes = encodeDecoderGraph(dims, weights, options.headChunkBytes ?? DEFAULT_HEAD_CHUNK_BYTES);

  const onnxDir = join(options.modelDir, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  await linkWeightFiles(options.modelDir, weights.files);
  const target = join(options.modelDir, GRAPH_PATH);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, target);
  return { graphPath: GRAPH_PATH, warnings, opset: OPSET };
}

/** Reads config.json from the folder and builds the graph (convenience for scripts and tests). */
export async function buildDecoderGraphForFolder(modelDir: string): Promise<BuildDecoderGraphResult> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as ModelConfig;
  return buildDecoderGraph({ modelDir, config });
}

/** The serialized ModelProto (no file I/O besides what `weights` already read). */
export function encodeDecoderGraph(dims: ForwardDims, weights: ModelWeights, headChunkBytes = DEFAULT_HEAD_CHUNK_BYTES): Uint8Array {
  const g = new GraphBuilder();
  const { hidden: H, heads: nH, kvHeads: nKV, headDim: D, vocab: V, layers: L } = dims;
  const rep = nH / nKV;

  /**
   * A runtime zero that depends on x: its first axis (B·S, always symbolic) times 0. ORT's shape optimizers
   * replace Shape/Slice of static dims with constants, so the dependency must go through a dynamic dim.
   */
  const zeros = new Map<string, string>();
  const zeroFrom = (x: string): string => {
    let zero = zeros.get(x);
    if (!zero) {
      const rows = g.op('Slice', [g.op('Shape', [x]), g.int64s([0]), g.int64s([1])], {}, `${x}.rows`);
      zero = g.op('Mul', [rows, g.int64s([0], [])], {}, `${x}.zero`);
      zeros.set(x, zero);
    }
    return zero;
  };
  /**
   * An external initializer over a tensor (or a byte sub-range of it), as float32. A matrix weight is first
   * passed through a Reshape whose target shape is read from the activation it multiplies (same values, no copy:
   * Reshape aliases its input). That data dependency is the point: without it ORT's topological order runs
   * weight Casts long before their Gemm (all f32 copies alive at once), constant folding under default session
   * options materialises every weight as float32, and Gemm prepacks constant f32 weights into a second copy.
   */
  const weight = (where: WeightLocation, dimsOf: number[], byteStart: number, hint: string, anchor?: string): string => {
    const length = dimsOf.reduce((a, b) => a * b, 1) * ELEM_SIZE[where.dtype];
    let value = g.external(hint, ELEM[where.dtype], dimsOf, { location: where.fileName, offset: where.fileOffset + byteStart, length });
    if (anchor) {
      const shape = g.op('Add', [g.int64s(dimsOf), zeroFrom(anchor)], {}, `${hint}.shape`);
      value = g.op('Reshape', [value, shape], {}, `${hint}.bound`);
    }
    return where.dtype === 'F32' ? value : g.op('Cast', [value], { to: DataType.FLOAT }, `${hint}.f32`);
  };
  const tensor = (name: string, shape: number[], anchor?: string) => {
    const where = weights.locate(name, shape);
    return weight(where, where.shape, 0, name, anchor);
  };
  /** y[N,out] = x[N,in]·Wᵀ (+ b) with W as stored ([out,in]). */
  const linear = (x: string, name: string, out: number, inDim: number, bias?: string): string => {
    const inputs = [x, tensor(`${name}.weight`, [out, inDim], x)];
    if (bias) inputs.push(tensor(bias, [out]));
    return g.op('Gemm', inputs, { transB: 1 }, name);
  };
  const eps = g.float32s([dims.rmsNormEps], []);
  const two = g.float32s([2], []);
  /** RMSNorm over the last axis (the Pow/ReduceMean/Add/Sqrt/Div/Mul pattern ORT can fuse). */
  const rmsNorm = (x: string, name: string, n: number): string => {
    const mean = g.op('ReduceMean', [g.op('Pow', [x, two])], { axes: [-1], keepdims: 1 });
    const normed = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [mean, eps])])]);
    return g.op('Mul', [normed, tensor(name, [n])], {}, name);
  };

  // Inputs (§7.4). The KV inputs declare nKV and D as numbers and the batch as 'batch_size' (transformers.js
  // builds the empty first-step cache from these dims).
  const inputIds = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', DataType.INT64, ['batch_size', 'past_sequence_length + sequence_length']);
  const positionIds = g.input('position_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const past: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < L; i++) {
    past.push({
      key: g.input(`past_key_values.${i}.key`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length', D]),
      value: g.input(`past_key_values.${i}.value`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length', D]),
    });
  }

  // Shapes computed once: [B, S] from input_ids, T = past + S from attention_mask.
  const idsShape = g.op('Shape', [inputIds], {}, 'ids_shape');
  const seqLen = g.op('Gather', [idsShape, g.int64s([1], [])], { axis: 0 }, 'seq_len');
  const totalLen = g.op('Gather', [g.op('Shape', [attentionMask]), g.int64s([1], [])], { axis: 0 }, 'total_len');
  const pastLen = g.op('Sub', [totalLen, seqLen], {}, 'past_len');
  const qShape = g.op('Concat', [idsShape, g.int64s([nKV, rep, D])], { axis: 0 }, 'q_shape');
  const kShape = g.op('Concat', [idsShape, g.int64s([nKV, D])], { axis: 0 }, 'k_shape');
  const flatAttn = g.int64s([-1, nH * D]);

  // Additive mask [B, 1, 1, S, T]: query at absolute position P+s sees key j iff j <= P+s and mask[b, j] = 1.
  const zero = g.int64s([0], []);
  const one = g.int64s([1], []);
  const keyPos = g.op('Unsqueeze', [g.op('Range', [zero, totalLen, one]), g.int64s([0])], {}, 'key_pos'); // [1, T]
  const queryPos = g.op('Unsqueeze', [g.op('Range', [pastLen, totalLen, one]), g.int64s([1])], {}, 'query_pos'); // [S, 1]
  const causal = g.op('LessOrEqual', [keyPos, queryPos], {}, 'causal'); // [S, T]
  const notPad = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: DataType.BOOL }), g.int64s([1, 2, 3])], {}, 'not_pad'); // [B,1,1,1,T]
  const allowed = g.op('And', [causal, notPad], {}, 'allowed');
  const maskBias = g.op('Where', [allowed, g.float32s([0], []), g.float32s([MASKED], [])], {}, 'mask_bias');

  // RoPE tables from position_ids, computed as transformers does (blocks/rotary.ts: angle = pos * inv_freq in
  // float32, emb = concat(angle, angle); rotate_half folded into a signed sine; partial rotary and the scaled
  // variants' frequencies and attention factor included).
  const rotary = rotaryParameters(dims.rope, D);
  const { cos, sin: signedSin } = rotaryTablesGraph(g, positionIds, rotary);
  const cosK = g.op('Unsqueeze', [cos, g.int64s([1])], {}, 'rope_cos_k'); // [B,1,S,rotaryDim]
  const sinK = g.op('Unsqueeze', [signedSin, g.int64s([1])], {}, 'rope_sin_k');
  const cosQ = g.op('Unsqueeze', [cos, g.int64s([1, 2])], {}, 'rope_cos_q'); // [B,1,1,S,rotaryDim]
  const sinQ = g.op('Unsqueeze', [signedSin, g.int64s([1, 2])], {}, 'rope_sin_q');
  const rope = (x: string, c: string, s: string): string => applyRotaryGraph(g, x, c, s, D, rotary.rotaryDim);
  const scale = g.float32s([1 / Math.sqrt(D)], []);

  // Embedding: Gather the stored rows, then widen only those rows.
  const embedWhere = weights.locate('model.embed_tokens.weight', [V, H]);
  const embedRaw = g.external('model.embed_tokens.weight', ELEM[embedWhere.dtype], [V, H], {
    location: embedWhere.fileName,
    offset: embedWhere.fileOffset,
    length: embedWhere.byteLength,
  });
  const flatIds = g.op('Reshape', [inputIds, g.int64s([-1])], {}, 'flat_ids');
  let embedded = g.op('Gather', [embedRaw, flatIds], { axis: 0 }, 'embedded');
  if (embedWhere.dtype !== 'F32') embedded = g.op('Cast', [embedded], { to: DataType.FLOAT });
  let h = embedded; // [B*S, H]: the residual stream stays 2-D so every projection is a plain Gemm

  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    const a = rmsNorm(h, `${p}.input_layernorm.weight`, H);
    const bias = (proj: string) => (dims.qkvBias ? `${p}.self_attn.${proj}.bias` : undefined);
    let q = g.op('Reshape', [linear(a, `${p}.self_attn.q_proj`, nH * D, H, bias('q_proj')), qShape]); // [B,S,nKV,rep,D]
    let k = g.op('Reshape', [linear(a, `${p}.self_attn.k_proj`, nKV * D, H, bias('k_proj')), kShape]); // [B,S,nKV,D]
    const v = g.op('Reshape', [linear(a, `${p}.self_attn.v_proj`, nKV * D, H, bias('v_proj')), kShape]);
    if (dims.qkNorm) {
      q = rmsNorm(q, `${p}.self_attn.q_norm.weight`, D);
      k = rmsNorm(k, `${p}.self_attn.k_norm.weight`, D);
    }
    // Query heads grouped by their KV head (head j uses KV head floor(j / rep)): [B, nKV, rep, S, D].
    q = rope(g.op('Transpose', [q], { perm: [0, 2, 3, 1, 4] }), cosQ, sinQ);
    k = rope(g.op('Transpose', [k], { perm: [0, 2, 1, 3] }), cosK, sinK);
    const keys = g.opNamed('Concat', [past[i].key, k], `present.${i}.key`, { axis: 2 });
    const values = g.opNamed('Concat', [past[i].value, g.op('Transpose', [v], { perm: [0, 2, 1, 3] })], `present.${i}.value`, { axis: 2 });
    const keysT = g.op('Unsqueeze', [g.op('Transpose', [keys], { perm: [0, 1, 3, 2] }), g.int64s([2])]); // [B,nKV,1,D,T]
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, keysT]), scale]), maskBias]); // [B,nKV,rep,S,T]
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const context = g.op('MatMul', [probs, g.op('Unsqueeze', [values, g.int64s([2])])]); // [B,nKV,rep,S,D]
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 3, 1, 2, 4] }), flatAttn]); // [B*S, nH*D]
    const attnOut = linear(merged, `${p}.self_attn.o_proj`, H, nH * D, dims.oBias ? `${p}.self_attn.o_proj.bias` : undefined);
    h = g.op('Add', [h, attnOut], {}, `${p}.attn_residual`);

    const m = rmsNorm(h, `${p}.post_attention_layernorm.weight`, H);
    const mlp = isSparseLayer(dims, i) ? sparseMlp(m, `${p}.mlp`) : swiglu(m, `${p}.mlp`, dims.intermediate);
    h = g.op('Add', [h, mlp], {}, `${p}.mlp_residual`);
  }

  // LM head over row chunks of the (tied) output matrix; each chunk widens on its own.
  const finalH = rmsNorm(h, 'model.norm.weight', H);
  const headWhere = dims.tied ? embedWhere : weights.locate('lm_head.weight', [V, H]);
  const rowBytes = H * ELEM_SIZE[headWhere.dtype];
  const rowsPerChunk = Math.max(1, Math.floor(headChunkBytes / (H * 4)));
  const parts: string[] = [];
  for (let start = 0; start < V; start += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, V - start);
    const w = weight(headWhere, [rows, H], start * rowBytes, `lm_head.rows_${start}`, finalH);
    parts.push(g.op('Gemm', [finalH, w], { transB: 1 }, `lm_head_${start}`));
  }
  const logits2d = parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 1 }, 'logits_2d');
  const logitsShape = g.op('Concat', [idsShape, g.int64s([V])], { axis: 0 });
  g.opNamed('Reshape', [logits2d, logitsShape], 'logits');

  g.output('logits', DataType.FLOAT, ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < L; i++) {
    for (const kind of ['key', 'value']) {
      g.output(`present.${i}.${kind}`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length + sequence_length', D]);
    }
  }
  return g.encode({ opset: OPSET, irVersion: IR_VERSION, producer: 'model-import arch-qwen', graphName: `${dims.family}-decoder` });

  function swiglu(x: string, prefix: string, width: number): string {
    const gate = linear(x, `${prefix}.gate_proj`, width, H);
    const up = linear(x, `${prefix}.up_proj`, width, H);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    return linear(act, `${prefix}.down_proj`, H, width);
  }

  /**
   * Router softmax (float32), TopK, optional renormalisation, scattered back to a dense [N, E] weight matrix;
   * every expert runs on every token and is weighted (zero for the unchosen): exact, no data-dependent shapes.
   */
  function sparseMlp(x: string, prefix: string): string {
    const moe = dims.moe!;
    const { experts: E, moeIntermediate: Im } = moe;
    const router = g.op('Softmax', [linear(x, `${prefix}.gate`, E, H)], { axis: -1 }, `${prefix}.router`);
    const [topValues, topIndices] = g.node('TopK', [router, g.int64s([moe.topK])], { axis: -1, largest: 1, sorted: 1 }, 2, `${prefix}.topk`);
    const chosen = moe.normTopkProb ? g.op('Div', [topValues, g.op('ReduceSum', [topValues, g.int64s([-1])], { keepdims: 1 })]) : topValues;
    const dense = g.op('ScatterElements', [g.op('Mul', [router, g.float32s([0], [])]), topIndices, chosen], { axis: 1 }, `${prefix}.routing`);
    const fused = weights.has(`${prefix}.experts.gate_up_proj`);
    const terms: string[] = [];
    for (let e = 0; e < E; e++) {
      let out: string;
      if (fused) {
        // transformers v5 layout: gate_up_proj [E, 2·Im, H] (gate rows first), down_proj [E, H, Im]; each expert's
        // slices are contiguous byte ranges, so they become their own 2-D initializers.
        const gateUp = weights.locate(`${prefix}.experts.gate_up_proj`, [E, 2 * Im, H]);
        const down = weights.locate(`${prefix}.experts.down_proj`, [E, H, Im]);
        const size = ELEM_SIZE[gateUp.dtype];
        const gate = g.op('Gemm', [x, weight(gateUp, [Im, H], e * 2 * Im * H * size, `${prefix}.experts.${e}.gate`, x)], { transB: 1 });
        const up = g.op('Gemm', [x, weight(gateUp, [Im, H], (e * 2 + 1) * Im * H * size, `${prefix}.experts.${e}.up`, x)], { transB: 1 });
        const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
        out = g.op('Gemm', [act, weight(down, [H, Im], e * H * Im * ELEM_SIZE[down.dtype], `${prefix}.experts.${e}.down`, act)], { transB: 1 });
      } else {
        out = swiglu(x, `${prefix}.experts.${e}`, Im);
      }
      const share = g.op('Slice', [dense, g.int64s([e]), g.int64s([e + 1]), g.int64s([1])]); // [N, 1]
      terms.push(g.op('Mul', [out, share]));
    }
    if (moe.sharedIntermediate > 0) {
      const shared = swiglu(x, `${prefix}.shared_expert`, moe.sharedIntermediate);
      const gate = g.op('Sigmoid', [linear(x, `${prefix}.shared_expert_gate`, 1, H)]);
      terms.push(g.op('Mul', [shared, gate]));
    }
    return terms.length === 1 ? terms[0] : g.op('Sum', terms, {}, `${prefix}.out`);
  }
}
