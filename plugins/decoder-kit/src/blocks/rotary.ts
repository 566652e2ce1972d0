/**
 * Rotary embedding: the frequencies for every RopeSpec variant (computed as transformers' modeling_rope_utils.py
 * does, float32 at each step), the reference rotation in TypeScript and the matching ONNX pieces.
 */
import { ModelImportError } from '../../../../src/index.js';
import type { GraphBuilder } from '../onnx/graph-builder.js';

/** onnx.TensorProto.DataType.FLOAT, as a literal: importing the enum would load protobuf with the kit's entry. */
const FLOAT = 1;
import type { RopeSpec } from './rope-spec.js';

export interface RotaryParameters {
  /** Width of the rotated part of each head (even). */
  rotaryDim: number;
  /** rotaryDim / 2 frequencies. */
  invFreq: Float32Array;
  /** Multiplies cos and sin (YaRN's mscale; 1 otherwise). */
  attentionFactor: number;
}

const f = Math.fround;

function invalid(message: string): never {
  throw new ModelImportError('UNSUPPORTED_VARIANT', `rotary embedding: ${message}`, {
    hint: 'The config\'s RoPE parameters are inconsistent; download the config again or fix it.',
  });
}

/** 1 / base^(2i/dim) for i < dim/2, in float32 (`torch.arange(0, dim, 2) / dim`). */
function baseFrequencies(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = f(1 / f(Math.pow(base, f(f(2 * i) / dim))));
  return out;
}

export function rotaryParameters(spec: RopeSpec, headDim: number): RotaryParameters {
  // int(head_dim * partial_rotary_factor), as transformers truncates it.
  const rotaryDim = Math.trunc(headDim * spec.partialRotaryFactor);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0 || rotaryDim > headDim) invalid(`rotary width ${rotaryDim} of head_dim ${headDim} must be even, ≥ 2 and ≤ head_dim`);
  if (spec.mropeSection) {
    const total = spec.mropeSection.sections.reduce((a, b) => a + b, 0);
    if (total !== rotaryDim / 2) invalid(`mrope_section ${JSON.stringify(spec.mropeSection.sections)} sums to ${total}, expected ${rotaryDim / 2}`);
  }
  const s = spec.scaling;
  if (!s) return { rotaryDim, invFreq: baseFrequencies(spec.theta, rotaryDim), attentionFactor: 1 };
  switch (s.type) {
    case 'linear': {
      const inv = baseFrequencies(spec.theta, rotaryDim).map((v) => f(v / s.factor));
      return { rotaryDim, invFreq: inv, attentionFactor: 1 };
    }
    case 'dynamic': {
      // seq_len = max_position_embeddings at init: base · (factor − factor + 1)^… = base.
      const seq = s.maxPositionEmbeddings;
      const base = spec.theta * Math.pow((s.factor * seq) / s.maxPositionEmbeddings - (s.factor - 1), rotaryDim / (rotaryDim - 2));
      return { rotaryDim, invFreq: baseFrequencies(base, rotaryDim), attentionFactor: 1 };
    }
    case 'llama3':
      return { rotaryDim, invFreq: llama3Frequencies(spec.theta, rotaryDim, s), attentionFactor: 1 };
    case 'yarn':
      return yarnParameters(spec.theta, rotaryDim, s);
  }
}

function llama3Frequencies(theta: number, dim: number, s: Extract<NonNullable<RopeSpec['scaling']>, { type: 'llama3' }>): Float32Array {
  const inv = baseFrequencies(theta, dim);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return inv.map((v) => {
    const wavelen = f((2 * Math.PI) / v);
    const scaled = wavelen > lowWavelen ? f(v / s.factor) : v;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = f((s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    return f(f((1 - smooth) * f(scaled / s.factor)) + f(smooth * scaled));
  });
}

function yarnParameters(theta: number, dim: number, s: Extract<NonNullable<RopeSpec['scaling']>, { type: 'yarn' }>): RotaryParameters {
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const attentionFactor = s.attentionFactor ??
    (s.mscale && s.mscaleAllDim ? mscale(s.factor, s.mscale) / mscale(s.factor, s.mscaleAllDim) : mscale(s.factor));
  const betaFast = s.betaFast || 32;
  const betaSlow = s.betaSlow || 1;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(s.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (s.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // as transformers: no zero-width ramp
  const invFreq = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const posFreq = f(Math.pow(theta, f(f(2 * i) / dim)));
    const extrapolation = f(1 / posFreq);
    const interpolation = f(1 / f(s.factor * posFreq));
    const ramp = f(Math.min(1, Math.max(0, f(f(i - low) / f(high - low)))));
    const extrapolationFactor = f(1 - ramp);
    invFreq[i] = f(f(interpolation * f(1 - extrapolationFactor)) + f(extrapolation * extrapolationFactor));
  }
  return { rotaryDim: dim, invFreq, attentionFactor };
}

/**
 * Reference rotation of one head in place: x is [S, headDim] at `positions`; the first rotaryDim dims rotate
 * as rotate_half does (pairs i and i + rotaryDim/2), cos and sin scaled by the attention factor.
 */
export function applyRotaryReference(x: Float32Array, positions: readonly number[], headDim: number, params: RotaryParameters): void {
  const half = params.rotaryDim / 2;
  for (let s = 0; s < positions.length; s++) {
    const o = s * headDim;
    for (let i = 0; i < half; i++) {
      const angle = f(positions[s] * params.invFreq[i]);
      const cos = f(Math.cos(angle) * params.attentionFactor);
      const sin = f(Math.sin(angle) * params.attentionFactor);
      const a = x[o + i];
      const b = x[o + i + half];
      x[o + i] = f(a * cos - b * sin);
      x[o + i + half] = f(b * cos + a * sin);
    }
  }
}

/** cos and signed-sin tables [B, S, rotaryDim] from position_ids [B, S] (int64), for applyRotaryGraph. */
export function rotaryTablesGraph(g: GraphBuilder, positionIds: string, params: RotaryParameters): { cos: string; sin: string } {
  const angle = g.op('Mul', [
    g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: FLOAT }), g.int64s([-1])]),
    g.float32s(params.invFreq),
  ], {}, 'rope_angle'); // [B, S, rotaryDim/2]
  // The factor is 1 except for YaRN: no Mul then, so default RoPE keeps its plain Cos/Sin pattern.
  const scaled = (x: string) => (params.attentionFactor === 1 ? x : g.op('Mul', [x, g.float32s([params.attentionFactor], [])]));
  const cosHalf = scaled(g.op('Cos', [angle]));
  const sinHalf = scaled(g.op('Sin', [angle]));
  return {
    cos: g.op('Concat', [cosHalf, cosHalf], { axis: -1 }, 'rope_cos'),
    sin: g.op('Concat', [g.op('Neg', [sinHalf]), sinHalf], { axis: -1 }, 'rope_signed_sin'),
  };
}

/**
 * x [..., S, headDim] rotated over its first rotaryDim dims; cos/sin broadcast to x's rank by the caller (e.g.
 * Unsqueeze the head axis). The pass-through dims are concatenated back unchanged (partial rotary).
 */
export function applyRotaryGraph(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number, rotaryDim: number): string {
  const half = rotaryDim / 2;
  const slice = (from: number, to: number) => g.op('Slice', [x, g.int64s([from]), g.int64s([to]), g.int64s([-1])]);
  const rotated = rotaryDim === headDim ? x : slice(0, rotaryDim);
  const swapped = g.op('Concat', [
    g.op('Slice', [rotated, g.int64s([half]), g.int64s([rotaryDim]), g.int64s([-1])]),
    g.op('Slice', [rotated, g.int64s([0]), g.int64s([half]), g.int64s([-1])]),
  ], { axis: -1 });
  const out = g.op('Add', [g.op('Mul', [rotated, cos]), g.op('Mul', [swapped, sin])]);
  return rotaryDim === headDim ? out : g.op('Concat', [out, slice(rotaryDim, headDim)], { axis: -1 });
}
