/**
 * Writes onnx/model.onnx: the decoder (Qwen2/Qwen3 and MoE shapes, Qwen3-Next / Qwen3.5 hybrids) as opset-17 ops,
 * with every weight an external initializer that points into the model's own safetensors (hard-linked into onnx/,
 * §7.3, §7.8). The graph follows the transformers.js decoder conventions (graph-contract.ts, §7.4): input_ids,
 * attention_mask, position_ids (absent when positions come from the mask), past_key_values.{i}.key/value for
 * attention layers and past_conv.{i} / past_recurrent.{i} for Gated DeltaNet layers in; logits and the
 * present.* outputs out, KV as [batch, nKV, seq, D]. A folder transformers.js loads as image-text-to-text in
 * text-only mode (Qwen3.5 wrappers) also gets onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx (the same
 * decoder taking inputs_embeds), over the same weight files.
 *
 * Design choices, each measured (see bench.ts and the report in the commit log):
 * - Weights stay in the checkpoint dtype; bf16/f16 get a Cast to float at run time. Folding those casts at
 *   session creation would hold a float32 copy of every weight (2 GB for a 0.5B model), so defaultSessionOptions
 *   keep constant folding off.
 * - Linear layers are Gemm(x[N,in], W[out,in], transB=1): the [out,in] layout is used as stored, no Transpose.
 * - The (tied) LM head is split into row chunks, each its own external initializer over a byte range of the same
 *   tensor, so at most one chunk's float32 copy exists at a time.
 * - Attention is explicit (attention-layer-graph.ts); Gated DeltaNet layers are linear-attention-layer-graph.ts.
 */
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../../../../src/index.js';
import { isLinearAttentionLayer as isLinearLayer, isSparseLayer, type DecoderDims } from '../family/decoder-dims.js';
import type { DecoderFamily } from '../family/decoder-family.js';
import { graphDims, type GraphDims } from './graph-dims.js';
import { ModelWeights } from '../reference/model-weights.js';
import { PendingSubgraphs } from '../linear-attention/subgraphs.js';
import { DataType, GraphBuilder } from './graph-builder.js';
import { ELEM, ELEM_SIZE, GraphWeights } from './graph-weights.js';
import { attentionContext, attentionLayerGraph } from './attention-layer-graph.js';
import { linearAttentionLayerGraph, linearStateShapes } from './linear-attention-layer-graph.js';
import { sparseMlpGraph, swigluGraph } from './mlp-graph.js';
import { expertStore, maxGathered } from './fused-experts-graph.js';
import { linkWeightFiles } from './link-weight-files.js';

import { EMBED_GRAPH_PATH, GRAPH_PATH, MERGED_GRAPH_PATH, OPSET } from './graph-contract.js';

export { GRAPH_PATH, OPSET };
const IR_VERSION = 8;
/** Upper bound of one LM-head chunk's float32 copy. */
const DEFAULT_HEAD_CHUNK_BYTES = 64 << 20;

export interface BuildDecoderGraphOptions {
  modelDir: string;
  /**
   * The family's reading of config.json (DecoderFamily.readDims): the converter passes the dims it converted
   * with, so the graph and the weights come from one reading and the graph never parses config.json again.
   */
  dims: DecoderDims;
  /** Weight file names relative to modelDir (default: from model.safetensors.index.json, else model.safetensors). */
  weightFiles?: string[];
  /** Largest float32 size of one LM-head chunk (default 64 MiB). */
  headChunkBytes?: number;
}

export interface BuildDecoderGraphResult {
  graphPath: typeof GRAPH_PATH;
  /** Further graph files written beside it (the transformers.js embed_tokens + decoder_model_merged pair). */
  extraGraphs: string[];
  warnings: string[];
  opset: number;
}

export async function buildDecoderGraph(options: BuildDecoderGraphOptions): Promise<BuildDecoderGraphResult> {
  const dims = graphDims(options.dims);
  const weights = await ModelWeights.open(options.modelDir, options.weightFiles);
  const warnings: string[] = [];
  if (dims.tied && weights.has('lm_head.weight')) {
    warnings.push(`tie_word_embeddings is true and the checkpoint also holds lm_head.weight: the graph uses ${dims.tensorPrefix}.embed_tokens.weight`);
  }
  if (dims.moe) {
    const { experts: E, topK: K, moeIntermediate: Im } = dims.moe;
    const sparse = Array.from({ length: dims.layers }, (_, i) => i).filter((i) => isSparseLayer(dims, i));
    const dense = sparse.filter((i) => !expertStore(weights, `${dims.tensorPrefix}.layers.${i}.mlp`, E, Im, dims.hidden));
    const rows = Math.floor(maxGathered(E, K, Im, dims.hidden) / K);
    warnings.push(
      dense.length === 0
        ? `MoE layers compute only the chosen ${K} of ${E} experts for inputs of up to ${rows} rows (decode) and evaluate all ${E} experts for longer ones, weighted by the router (exact, ${E / K}x the expert compute of sparse dispatch)`
        : `MoE layers ${dense.join(', ')} evaluate all ${E} experts for every token (their per-expert tensors are not back to back in one file), weighted by the router (exact, ${E / K}x the expert compute of sparse dispatch)`,
    );
  }
  const headChunkBytes = options.headChunkBytes ?? DEFAULT_HEAD_CHUNK_BYTES;
  const decoders = encodeDecoderGraphs(dims, weights, headChunkBytes, dims.embedsSession ? ['ids', 'embeds'] : ['ids']);
  const graphs: Array<[string, () => Uint8Array]> = [[GRAPH_PATH, () => decoders[0]]];
  if (dims.embedsSession) {
    graphs.push([EMBED_GRAPH_PATH, () => encodeEmbedGraph(dims, weights)]);
    graphs.push([MERGED_GRAPH_PATH, () => decoders[1]]);
  }

  const onnxDir = join(options.modelDir, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  await linkWeightFiles(options.modelDir, weights.files);
  for (const [path, encode] of graphs) {
    const target = join(options.modelDir, path);
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, encode());
    await rename(temp, target);
  }
  return { graphPath: GRAPH_PATH, extraGraphs: graphs.slice(1).map(([path]) => path), warnings, opset: OPSET };
}

/**
 * Reads config.json from the folder through `family` (its readDims: the same refusals as recognition) and builds
 * the graph (convenience for scripts and tests).
 */
export async function buildDecoderGraphForFolder(modelDir: string, family: DecoderFamily): Promise<BuildDecoderGraphResult> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as ModelConfig;
  return buildDecoderGraph({ modelDir, dims: family.readDims(config).dims });
}

/**
 * The serialized ModelProto (no file I/O besides what `weights` already read). `input` 'embeds' makes the
 * decoder_model_merged variant: inputs_embeds [B, S, H] in place of input_ids.
 */
export function encodeDecoderGraph(dims: GraphDims, weights: ModelWeights, headChunkBytes = DEFAULT_HEAD_CHUNK_BYTES, input: 'ids' | 'embeds' = 'ids'): Uint8Array {
  return encodeDecoderGraphs(dims, weights, headChunkBytes, [input])[0];
}

/**
 * One ModelProto per way in, over one decoder body built and encoded once (GraphBuilder.encodeWithFront): the
 * Qwen3.5 wrappers need both model.onnx (input_ids) and decoder_model_merged.onnx (inputs_embeds), and building
 * the ~5,000-node body twice was half of their conversion.
 */
export function encodeDecoderGraphs(dims: GraphDims, weights: ModelWeights, headChunkBytes: number, inputs: ReadonlyArray<'ids' | 'embeds'>): Uint8Array[] {
  const g = new GraphBuilder();
  const w = new GraphWeights(g, weights);
  const subgraphs = new PendingSubgraphs();
  const { hidden: H, kvHeads: nKV, headDim: D, vocab: V, layers: L } = dims;
  const P = dims.tensorPrefix;
  const zc = dims.normZeroCentred;

  // Inputs (§7.4). Cache inputs declare every dim but the batch as a number or the past length (transformers.js
  // builds the empty first-step cache from these dims). The front (input_ids or inputs_embeds, below) defines
  // the two names the body starts from.
  const idsShape = g.name('ids_shape');
  const embedded = g.name('embedded');
  let h = embedded; // [B*S, H]: the residual stream stays 2-D so every projection is a plain Gemm
  const embedWhere = weights.locate(`${P}.embed_tokens.weight`, [V, H]);
  const front = (input: 'ids' | 'embeds'): GraphBuilder => {
    const f = new GraphBuilder({ frontOf: g });
    if (input === 'ids') {
      const inputIds = f.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
      f.opNamed('Shape', [inputIds], idsShape);
      f.opNamed('Identity', [embedRows(f, embedWhere, `${P}.embed_tokens.weight`, inputIds)], embedded);
    } else {
      const embeds = f.input('inputs_embeds', DataType.FLOAT, ['batch_size', 'sequence_length', H]);
      f.opNamed('Shape', [embeds], idsShape, { start: 0, end: 2 });
      f.opNamed('Reshape', [embeds, f.int64s([-1, H])], embedded);
    }
    return f;
  };
  const attentionMask = g.input('attention_mask', DataType.INT64, ['batch_size', 'past_sequence_length + sequence_length']);
  const seqLen = g.op('Gather', [idsShape, g.int64s([1], [])], { axis: 0 }, 'seq_len');
  const totalLen = g.op('Gather', [g.op('Shape', [attentionMask]), g.int64s([1], [])], { axis: 0 }, 'total_len');
  const lastS = (x: string) => g.op('Slice', [x, g.op('Neg', [g.op('Unsqueeze', [seqLen, g.int64s([0])])]), g.int64s([Number.MAX_SAFE_INTEGER]), g.int64s([1])]);
  const positionIds = dims.positionsFromMask
    ? lastS(positionsFromMaskGraph(g, attentionMask))
    : g.input('position_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const past: Array<{ key: string; value: string } | undefined> = [];
  for (let i = 0; i < L; i++) {
    if (isLinearLayer(dims, i)) {
      past.push(undefined); // declared by the layer (past_conv.i, past_recurrent.i)
      continue;
    }
    past.push({
      key: g.input(`past_key_values.${i}.key`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length', D]),
      value: g.input(`past_key_values.${i}.value`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length', D]),
    });
  }

  const attention = attentionContext(w, dims, { idsShape, seqLen, totalLen, attentionMask, positionIds });
  const linearShapes = dims.hybrid
    ? {
        hiddenShape: g.op('Concat', [idsShape, g.int64s([H])], { axis: 0 }, 'hidden_shape'),
        keepMask: lastS(g.op('Cast', [attentionMask], { to: DataType.FLOAT }, 'mask_f')),
      }
    : undefined;

  for (let i = 0; i < L; i++) {
    const p = `${P}.layers.${i}`;
    const a = w.rmsNorm(h, `${p}.input_layernorm.weight`, H, dims.rmsNormEps, zc);
    const kv = past[i];
    const mixed = kv ? attentionLayerGraph(w, attention, a, p, i, kv) : linearAttentionLayerGraph(w, subgraphs, dims, a, p, i, linearShapes!);
    h = g.op('Add', [h, mixed], {}, `${p}.attn_residual`);

    const m = w.rmsNorm(h, `${p}.post_attention_layernorm.weight`, H, dims.rmsNormEps, zc);
    const mlp = isSparseLayer(dims, i) ? sparseMlpGraph(w, subgraphs, dims, m, `${p}.mlp`) : swigluGraph(w, m, `${p}.mlp`, dims.intermediate, H);
    h = g.op('Add', [h, mlp], {}, `${p}.mlp_residual`);
  }

  // LM head over row chunks of the (tied) output matrix; each chunk widens on its own. lm_head.weight is top level
  // even when the decoder sits under model.language_model.
  const finalH = w.rmsNorm(h, `${P}.norm.weight`, H, dims.rmsNormEps, zc);
  const headWhere = dims.tied ? embedWhere : weights.locate('lm_head.weight', [V, H]);
  const rowBytes = H * ELEM_SIZE[headWhere.dtype];
  const rowsPerChunk = Math.max(1, Math.floor(headChunkBytes / (H * 4)));
  const parts: string[] = [];
  for (let start = 0; start < V; start += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, V - start);
    const head = w.weight(headWhere, [rows, H], start * rowBytes, `lm_head.rows_${start}`, finalH);
    parts.push(g.op('Gemm', [finalH, head], { transB: 1 }, `lm_head_${start}`));
  }
  const logits2d = parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 1 }, 'logits_2d');
  const logitsShape = g.op('Concat', [idsShape, g.int64s([V])], { axis: 0 });
  g.opNamed('Reshape', [logits2d, logitsShape], 'logits');

  g.output('logits', DataType.FLOAT, ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < L; i++) {
    if (isLinearLayer(dims, i)) {
      const shapes = linearStateShapes(dims);
      g.output(`present_conv.${i}`, DataType.FLOAT, shapes.conv);
      g.output(`present_recurrent.${i}`, DataType.FLOAT, shapes.recurrent);
      continue;
    }
    for (const kind of ['key', 'value']) {
      g.output(`present.${i}.${kind}`, DataType.FLOAT, ['batch_size', nKV, 'past_sequence_length + sequence_length', D]);
    }
  }
  subgraphs.attachTo(g);
  const header = { opset: OPSET, irVersion: IR_VERSION, producer: 'model-import decoder-kit', graphName: `${dims.modelType}-decoder` };
  return inputs.map((input) => g.encodeWithFront(header, front(input)));
}

/** onnx/embed_tokens.onnx: input_ids [B, S] -> inputs_embeds [B, S, H] (float32), over the checkpoint's table. */
export function encodeEmbedGraph(dims: GraphDims, weights: ModelWeights): Uint8Array {
  const g = new GraphBuilder();
  const name = `${dims.tensorPrefix}.embed_tokens.weight`;
  const where = weights.locate(name, [dims.vocab, dims.hidden]);
  const inputIds = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const rows = embedRows(g, where, name, inputIds);
  const shape = g.op('Concat', [g.op('Shape', [inputIds]), g.int64s([dims.hidden])], { axis: 0 });
  g.opNamed('Reshape', [rows, shape], 'inputs_embeds');
  g.output('inputs_embeds', DataType.FLOAT, ['batch_size', 'sequence_length', dims.hidden]);
  return g.encode({ opset: OPSET, irVersion: IR_VERSION, producer: 'model-import decoder-kit', graphName: `${dims.modelType}-embed-tokens` });
}

/** Gather the stored rows of the embedding, then widen only those rows: [B·S, H] float32. */
function embedRows(g: GraphBuilder, where: ReturnType<ModelWeights['locate']>, name: string, inputIds: string): string {
  const table = g.external(name, ELEM[where.dtype], where.shape, { location: where.fileName, offset: where.fileOffset, length: where.byteLength });
  const flatIds = g.op('Reshape', [inputIds, g.int64s([-1])], {}, 'flat_ids');
  const embedded = g.op('Gather', [table, flatIds], { axis: 0 }, 'embedded');
  return where.dtype === 'F32' ? embedded : g.op('Cast', [embedded], { to: DataType.FLOAT });
}

/**
 * position_ids as transformers.js makes them from the mask (cumsum − 1, padded slots 1), over the whole
 * [B, P + S] mask; the caller keeps the last S. Text-only Qwen3.5: transformers' arange(T) + past for unpadded
 * input, which its three equal MRoPE rows reduce to.
 */
function positionsFromMaskGraph(g: GraphBuilder, mask: string): string {
  const cumsum = g.op('Sub', [g.op('CumSum', [mask, g.int64s([1], [])]), g.int64s([1], [])], {}, 'mask_positions');
  return g.op('Where', [g.op('Equal', [mask, g.int64s([0], [])]), g.int64s([1], []), cumsum], {}, 'position_ids_from_mask');
}
