/**
 * ONNX for the chunked (WY) gated delta rule, the form transformers runs for prefill (reference:
 * chunkedDeltaRule in delta-rule.ts, after transformers' torch_chunk_gated_delta_rule). Same inputs, outputs and
 * state as deltaRuleGraph; the sequential work drops from one Scan step per token to one per chunk.
 *
 * Everything that does not depend on the carried state is computed for all chunks at once:
 * - cumulative log-decay G per chunk, the causal decay matrix exp(Gᵢ − Gⱼ) (j ≤ i), M = −(beta·K)Kᵀ ⊙ decay
 *   strictly below the diagonal;
 * - A = (I − M)⁻¹ (transformers computes it by forward substitution, row by row; M is nilpotent, so here it is
 *   the product (I + M)(I + M²)(I + M⁴)…, exact in exact arithmetic), then U = A·(beta·V), W = A·(beta·K·exp(G)).
 * A Scan over the chunks then carries the state: VNew = U − W·S; out = (Q·exp(G))·S + (QKᵀ ⊙ decay)·VNew;
 * S ← S·exp(G_last) + (K·exp(G_last − G))ᵀ·VNew. The sequence is zero-padded to whole chunks and cut back.
 */
import { DataType, type GraphBuilder } from '../onnx/graph-builder.js';
import type { DeltaRuleGraphInput } from './delta-rule-graph.js';
import { bodyGraph, type PendingSubgraphs } from './subgraphs.js';

/** Large enough that exp() of it is exactly 0 in float32, finite so no inf − inf appears. */
const NEVER = -1e30;

/** The chunk-sized masks, made once per chunk size (every layer's graph uses the same ones). */
const masksByChunk = new Map<number, { lower: Float32Array; aboveNever: Float32Array; strict: Float32Array; eye: Float32Array }>();
function chunkMasks(C: number) {
  let masks = masksByChunk.get(C);
  if (!masks) {
    const cell = (test: (i: number, j: number) => boolean, yes: number, no: number) => Float32Array.from({ length: C * C }, (_, n) => (test(Math.floor(n / C), n % C) ? yes : no));
    masks = {
      lower: cell((i, j) => i >= j, 1, 0),
      aboveNever: cell((i, j) => i >= j, 0, NEVER),
      strict: cell((i, j) => i > j, 1, 0),
      eye: cell((i, j) => i === j, 1, 0),
    };
    masksByChunk.set(C, masks);
  }
  return masks;
}

export interface ChunkedDeltaRuleGraphInput extends DeltaRuleGraphInput {
  /** transformers uses 64. */
  chunkSize?: number;
}

export function chunkedDeltaRuleGraph(g: GraphBuilder, subgraphs: PendingSubgraphs, x: ChunkedDeltaRuleGraphInput): { output: string; present: string } {
  const C = x.chunkSize ?? 64;
  const F = DataType.FLOAT;
  const s = `${x.scope}/`;
  const i64 = (values: number[]) => g.int64s(values);
  const unsqueeze = (v: string, axes: number[]) => g.op('Unsqueeze', [v, i64(axes)]);

  // Sequence length and the zero padding to whole chunks.
  const seqLen = g.op('Shape', [x.q], { start: 1, end: 2 });
  const chunk = i64([C]);
  const padLen = g.op('Mod', [g.op('Sub', [chunk, g.op('Mod', [seqLen, chunk])]), chunk]);
  // [B, T, H, D] -> [B, H, T, D] -> zero-pad T -> [B, H, N, C, D]; [B, T, H] likewise to [B, H, N, C].
  const toChunks = (v: string) => {
    const padded = g.op('Pad', [g.op('Transpose', [v], { perm: [0, 2, 1, 3] }), g.op('Concat', [i64([0, 0, 0, 0, 0, 0]), padLen, i64([0])], { axis: 0 })]);
    return g.op('Reshape', [padded, g.op('Concat', [i64([0, 0, -1, C]), g.op('Shape', [v], { start: 3, end: 4 })], { axis: 0 })]);
  };
  const scalarChunks = (v: string) => {
    const padded = g.op('Pad', [g.op('Transpose', [v], { perm: [0, 2, 1] }), g.op('Concat', [i64([0, 0, 0, 0, 0]), padLen], { axis: 0 })]);
    return g.op('Reshape', [padded, i64([0, 0, -1, C])]);
  };
  const q = toChunks(x.q);
  const k = toChunks(x.k);
  const v = toChunks(x.v);
  const gl = scalarChunks(x.g);
  const beta = scalarChunks(x.beta);

  // Cumulative decay and the causal decay matrix.
  const G = g.op('CumSum', [gl, g.int64s([3], [])], {}, 'chunk_decay_cum');
  const diff = g.op('Sub', [unsqueeze(G, [4]), unsqueeze(G, [3])]); // [.., i, j] = Gᵢ − Gⱼ
  const masks = chunkMasks(C);
  const lowerMask = g.float32s(masks.lower, [C, C]);
  const aboveNever = g.float32s(masks.aboveNever, [C, C]);
  const strictMask = g.float32s(masks.strict, [C, C]);
  const decay = g.op('Exp', [g.op('Add', [g.op('Mul', [diff, lowerMask]), aboveNever])], {}, 'chunk_decay_matrix');

  const betaCol = unsqueeze(beta, [4]);
  const kBeta = g.op('Mul', [k, betaCol]);
  const vBeta = g.op('Mul', [v, betaCol]);
  const kT = g.op('Transpose', [k], { perm: [0, 1, 2, 4, 3] });
  const M = g.op('Mul', [g.op('Neg', [g.op('Mul', [g.op('MatMul', [kBeta, kT]), decay])]), strictMask], {}, 'wy_lower');

  // A = (I − M)⁻¹ = Σₖ Mᵏ. M is strictly lower triangular, so Mᶜ = 0 and the sum is the product
  // (I + M)(I + M²)(I + M⁴)…(I + M^(C/2)): log2(C) squarings instead of C rows of forward substitution. The
  // ONNX Loop over 64 rows cost ~12 ms per layer and prefill call in onnxruntime (576 node runs), and a body
  // graph per layer for both sessions to create; the product is 10 batched 64×64 MatMuls.
  let A = g.op('Add', [M, g.float32s(masks.eye, [C, C])], {}, 'wy_inverse_1');
  let power = M;
  for (let span = 2; span < C; span *= 2) {
    power = g.op('MatMul', [power, power], {}, `wy_m${span}`);
    A = g.op('Add', [A, g.op('MatMul', [A, power])], {}, `wy_inverse_${2 * span - 1}`);
  }

  const expG = unsqueeze(g.op('Exp', [G]), [4]);
  const U = g.op('MatMul', [A, vBeta], {}, 'wy_u');
  const W = g.op('MatMul', [A, g.op('Mul', [kBeta, expG])], {}, 'wy_w');
  const intra = g.op('Mul', [g.op('MatMul', [q, kT]), decay], {}, 'intra_attn');
  const qDecay = g.op('Mul', [q, expG], {}, 'q_decay');
  const last = g.op('Slice', [G, i64([C - 1]), i64([C]), i64([3])]); // [B,H,N,1]
  const kTailT = g.op('Transpose', [g.op('Mul', [k, unsqueeze(g.op('Exp', [g.op('Sub', [last, G])]), [4])])], { perm: [0, 1, 2, 4, 3] }, 'k_tail_t');
  const chunkDecay = unsqueeze(g.op('Exp', [last]), [4]); // [B,H,N,1,1]

  const body = bodyGraph(`${x.scope}_chunk_step`, (b) => {
    const S = b.input(`${s}state`, F, ['batch', 'heads', 'key_dim', 'value_dim']);
    const w = b.input(`${s}w`, F, ['batch', 'heads', C, 'key_dim']);
    const u = b.input(`${s}u`, F, ['batch', 'heads', C, 'value_dim']);
    const qd = b.input(`${s}q_decay`, F, ['batch', 'heads', C, 'key_dim']);
    const attn = b.input(`${s}intra`, F, ['batch', 'heads', C, C]);
    const kt = b.input(`${s}k_tail_t`, F, ['batch', 'heads', 'key_dim', C]);
    const cd = b.input(`${s}chunk_decay`, F, ['batch', 'heads', 1, 1]);
    const vNew = b.op('Sub', [u, b.op('MatMul', [w, S], {}, `${s}ws`)], {}, `${s}v_new`);
    b.opNamed('Add', [b.op('MatMul', [qd, S], {}, `${s}inter`), b.op('MatMul', [attn, vNew], {}, `${s}intra_out`)], `${s}o`);
    b.opNamed('Add', [b.op('Mul', [S, cd], {}, `${s}carried`), b.op('MatMul', [kt, vNew], {}, `${s}written`)], `${s}state_out`);
    b.output(`${s}state_out`, F, ['batch', 'heads', 'key_dim', 'value_dim']);
    b.output(`${s}o`, F, ['batch', 'heads', C, 'value_dim']);
  }, g);
  const present = x.presentName ?? g.name('present_recurrent');
  const stacked = g.name('chunk_out');
  g.node('Scan', [x.past, W, U, qDecay, intra, kTailT, chunkDecay], { num_scan_inputs: 6, scan_input_axes: [2, 2, 2, 2, 2, 2], scan_output_axes: [2] }, [present, stacked]);
  subgraphs.add(present, 'body', body);

  // [B,H,N,C,Dv] -> [B,H,N·C,Dv] -> first T -> [B,T,H,Dv]
  const flat = g.op('Reshape', [stacked, g.op('Concat', [i64([0, 0, -1]), g.op('Shape', [x.v], { start: 3, end: 4 })], { axis: 0 })]);
  const cut = g.op('Slice', [flat, i64([0]), seqLen, i64([2])]);
  return { output: g.op('Transpose', [cut], { perm: [0, 2, 1, 3] }, 'chunked_delta_out'), present };
}
