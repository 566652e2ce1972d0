/**
 * Test tooling: a two-layer hybrid decoder (one Gated DeltaNet layer from gated-delta-net-graph.ts, one toy
 * single-head attention layer with a KV cache) with the cache and input conventions transformers.js 4.3.1 uses
 * for qwen3_next / qwen3_5. Not a Qwen model: it exists to prove the plumbing — cache names, the all-zero first
 * cache built from input metadata, present -> past renaming, a Scan inside transformers.js's session, and
 * positions derived from attention_mask with no position_ids input (docs/qwen3-next-and-qwen3.5.md §6).
 * Weights are embedded constants (tiny); layout 'next' writes onnx/model.onnx taking input_ids, layout 'qwen3_5'
 * writes onnx/embed_tokens.onnx + onnx/decoder_model_merged.onnx taking inputs_embeds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, GraphBuilder } from '../../onnx/graph-builder.js';
import { gatedDeltaNetGraph } from '../gated-delta-net-graph.js';
import { linearAttentionSizes, type LinearAttentionDims } from '../gated-delta-net.js';
import { PendingSubgraphs } from '../subgraphs.js';
import { randomArray, seededRandom } from './seeded-random.js';

export const TOY_VOCAB = 40;
const dims: LinearAttentionDims = { hidden: 16, keyHeads: 2, valueHeads: 4, keyDim: 8, valueDim: 4, kernel: 4, eps: 1e-6 };
const layerTypes = ['linear_attention', 'full_attention'];
const F = DataType.FLOAT;
const I64 = DataType.INT64;

export async function writeHybridToyDecoder(dir: string, layout: 'next' | 'qwen3_5', seed: number): Promise<void> {
  const random = seededRandom(seed);
  const H = dims.hidden;
  const sizes = linearAttentionSizes(dims);
  const groupWidth = 2 * dims.keyDim + 2 * sizes.repeats * dims.valueDim;
  const embed = randomArray(random, TOY_VOCAB * H);

  const g = new GraphBuilder();
  const subgraphs = new PendingSubgraphs();
  const w = (length: number, shape: number[], low = -0.5, high = 0.5) => g.float32s(randomArray(random, length, low, high), shape);

  let x: string;
  if (layout === 'next') {
    x = g.op('Gather', [g.float32s(embed, [TOY_VOCAB, H]), g.input('input_ids', I64, ['batch_size', 'sequence_length'])], { axis: 0 }, 'embeds');
  } else {
    x = g.input('inputs_embeds', F, ['batch_size', 'sequence_length', H]);
  }
  const mask = g.op('Cast', [g.input('attention_mask', I64, ['batch_size', 'total_sequence_length'])], { to: F }, 'mask_f');
  const seqLen = g.op('Shape', [x], { start: 1, end: 2 });
  const totalLen = g.op('Shape', [mask], { start: 1, end: 2 });
  const lastT = (value: string) => g.op('Slice', [value, g.op('Neg', [seqLen]), g.int64s([Number.MAX_SAFE_INTEGER]), g.int64s([1])]);
  // Positions as transformers.js would compute them (cumsum(mask) - 1, last T), used as a sinusoidal offset.
  const positions = lastT(g.op('Sub', [g.op('CumSum', [mask, g.int64s([1], [])]), g.float32s([1], [])]));
  const keep = lastT(mask);
  x = g.op('Add', [x, g.op('Sin', [g.op('Mul', [g.op('Unsqueeze', [positions, g.int64s([2])]), w(H, [H], 0.1, 1)])])], {}, 'with_positions');

  // Layer 0: Gated DeltaNet (fused Qwen3-Next layout), residual.
  const gdn = gatedDeltaNetGraph(g, subgraphs, {
    hidden: x, keepMask: keep,
    pastConv: g.input('past_conv.0', F, ['batch_size', sizes.convChannels, dims.kernel]),
    pastRecurrent: g.input('past_recurrent.0', F, ['batch_size', dims.valueHeads, dims.keyDim, dims.valueDim]),
    presentConvName: 'present_conv.0', presentRecurrentName: 'present_recurrent.0',
    weights: {
      layout: 'fused', inProjQkvz: w(dims.keyHeads * groupWidth * H, [dims.keyHeads * groupWidth, H]), inProjBa: w(2 * dims.valueHeads * H, [2 * dims.valueHeads, H]),
      conv1d: w(sizes.convChannels * dims.kernel, [sizes.convChannels, 1, dims.kernel]), dtBias: w(dims.valueHeads, [dims.valueHeads], 0.5, 1.5),
      aLog: g.float32s(Array.from({ length: dims.valueHeads }, () => Math.log(random(1, 16))), [dims.valueHeads]),
      norm: w(dims.valueDim, [dims.valueDim], 0.8, 1.2), outProj: w(H * sizes.valueWidth, [H, sizes.valueWidth]),
    },
    dims, scope: 'layers.0.linear_attn',
  });
  x = g.op('Add', [x, gdn.output], {}, 'after_layer0');

  // Layer 1: one-head attention over [past | new] keys with a causal + padding mask.
  const project = (input: string) => g.op('MatMul', [input, w(H * H, [H, H])]);
  const heads = (t: string) => g.op('Unsqueeze', [t, g.int64s([1])]); // [B, 1, T, H]
  const q = heads(project(x));
  const key = g.opNamed('Concat', [g.input('past_key_values.1.key', F, ['batch_size', 1, 'past_sequence_length', H]), heads(project(x))], 'present.1.key', { axis: 2 });
  const value = g.opNamed('Concat', [g.input('past_key_values.1.value', F, ['batch_size', 1, 'past_sequence_length', H]), heads(project(x))], 'present.1.value', { axis: 2 });
  const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [key], { perm: [0, 1, 3, 2] })]), g.float32s([1 / Math.sqrt(H)], [])]);
  const toScalar = (v: string) => g.op('Squeeze', [v, g.int64s([0])]);
  const past = g.op('Sub', [toScalar(totalLen), toScalar(seqLen)]);
  const keyIndex = g.op('Range', [g.int64s([0], []), toScalar(totalLen), g.int64s([1], [])]);
  const queryIndex = g.op('Unsqueeze', [g.op('Range', [past, toScalar(totalLen), g.int64s([1], [])]), g.int64s([1])]);
  const causal = g.op('LessOrEqual', [keyIndex, queryIndex]); // [T, L]
  const padding = g.op('Cast', [g.op('Unsqueeze', [mask, g.int64s([1, 2])])], { to: DataType.BOOL });
  const allowed = g.op('And', [causal, padding]); // [B, 1, T, L]
  const masked = g.op('Where', [allowed, scores, g.float32s([-1e9], [])]);
  const attended = g.op('MatMul', [g.op('Softmax', [masked], { axis: -1 }), value]);
  x = g.op('Add', [x, project(g.op('Squeeze', [attended, g.int64s([1])]))], {}, 'after_layer1');

  g.opNamed('MatMul', [x, g.float32s(randomArray(random, H * TOY_VOCAB), [H, TOY_VOCAB])], 'logits');
  g.output('logits', F, ['batch_size', 'sequence_length', TOY_VOCAB]);
  g.output('present_conv.0', F, ['batch_size', sizes.convChannels, dims.kernel]);
  g.output('present_recurrent.0', F, ['batch_size', dims.valueHeads, dims.keyDim, dims.valueDim]);
  g.output('present.1.key', F, ['batch_size', 1, 'total_sequence_length', H]);
  g.output('present.1.value', F, ['batch_size', 1, 'total_sequence_length', H]);
  const decoder = subgraphs.apply(g.encode({ opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'hybrid-toy' }));

  await mkdir(join(dir, 'onnx'), { recursive: true });
  const text = {
    hidden_size: H, num_hidden_layers: 2, num_attention_heads: 1, num_key_value_heads: 1, head_dim: H, vocab_size: TOY_VOCAB,
    linear_conv_kernel_dim: dims.kernel, linear_key_head_dim: dims.keyDim, linear_value_head_dim: dims.valueDim,
    linear_num_key_heads: dims.keyHeads, linear_num_value_heads: dims.valueHeads, layer_types: layerTypes,
  };
  if (layout === 'next') {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['Qwen3NextForCausalLM'], model_type: 'qwen3_next', ...text }));
    await writeFile(join(dir, 'onnx', 'model.onnx'), decoder);
    return;
  }
  const e = new GraphBuilder();
  e.opNamed('Gather', [e.float32s(embed, [TOY_VOCAB, H]), e.input('input_ids', I64, ['batch_size', 'sequence_length'])], 'inputs_embeds', { axis: 0 });
  e.output('inputs_embeds', F, ['batch_size', 'sequence_length', H]);
  await writeFile(join(dir, 'onnx', 'embed_tokens.onnx'), e.encode({ opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'embed' }));
  await writeFile(join(dir, 'onnx', 'decoder_model_merged.onnx'), decoder);
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5',
    text_config: { model_type: 'qwen3_5_text', ...text }, vision_config: { model_type: 'qwen3_5_vision', spatial_merge_size: 2 },
    image_token_id: 248056, video_token_id: 248057, vision_start_token_id: 248053,
  }));
}

/** The toy's embedding table, for callers that run decoder_model_merged directly. */
export function hybridToyEmbedding(seed: number): Float32Array {
  return randomArray(seededRandom(seed), TOY_VOCAB * dims.hidden);
}

export const hybridToyShapes = { dims, convChannels: linearAttentionSizes(dims).convChannels };
