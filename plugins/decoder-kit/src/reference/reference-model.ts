/**
 * An independent forward pass of the Qwen2/Qwen3 decoders (and their MoE variants), Llama, and the Qwen3-Next /
 * Qwen3.5 hybrids (Gated DeltaNet layers, gated attention, zero-centred norms) in plain TypeScript, written from
 * reference/qwen-family.md §4 and §2.3 and docs/qwen3-next-and-qwen3.5.md rather than from the ONNX graph it
 * checks. forward() recomputes the whole sequence; step() continues from a ReferenceCache (the KV cache and the
 * linear-attention states), so incremental decoding can be checked against the whole sequence. An oracle for
 * tiny models and layer samples, not a runtime.
 */
import type { ModelConfig, ReferenceForwardInput, ReferenceForwardOutput } from '../../../../src/index.js';
import { ModelImportError } from '../../../../src/index.js';
import { isSparseLayer, positionIdsFromMask, readForwardDims, type ForwardDims } from './forward-dims.js';
import { isLinearLayer } from './forward-hybrid.js';
import { forwardDimsOf } from './forward-dims-of.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import { rotaryParameters, type RotaryParameters } from '../blocks/rotary.js';
import { splitGatedQueryReference } from '../blocks/norm-and-gate.js';
import { linearAttentionLayer } from './reference-linear-layer.js';
import type { LinearAttentionState } from '../linear-attention/gated-delta-net.js';
import { ModelWeights } from './model-weights.js';
import { linear, rmsNorm, sigmoid, silu, softmaxInPlace } from './tensor-math.js';
import { attend, concat } from './reference-attention.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface MatrixRef {
  name: string;
  shape: number[];
  rowOffset?: number;
}


export interface ReferenceOptions {
  /**
   * The family's reading of config.json (DecoderFamily.readDims), as the graph was built from it: the validation
   * path passes it (forward-dims-of.ts). Absent: the reference reads config.json with its own reader.
   */
  dims?: DecoderDims;
  /** Use this config instead of modelDir/config.json (without `dims`). */
  config?: ModelConfig;
  /** Weight file names relative to modelDir (default: from the index, else model.safetensors). */
  weightFiles?: string[];
  /** Keep every tensor in memory between calls (the greedy loop); default reads per call. */
  cacheWeights?: boolean;
  /**
   * Without cacheWeights: the largest float32 block of one weight matrix read at once (default 64 MiB). Larger
   * matrices (the LM head, big MLPs) are read and applied in row blocks, and the embedding only by the rows the
   * prompt uses, so memory stays near this bound plus activations whatever the model size.
   */
  blockBytes?: number;
}

const DEFAULT_BLOCK_BYTES = 64 << 20;

/** One layer's cache for one row: attention keys (after RoPE) and values [P, nKV, D], or a Gated DeltaNet state. */
export type LayerCache = { keys: Float32Array; values: Float32Array } | { linear: LinearAttentionState };
/** cache[row][layer], as step() returns it. */
export type ReferenceCache = LayerCache[][];

export interface ReferenceStep {
  /** [B, S, V] row-major logits of the new tokens. */
  logits: Float32Array;
  dims: [number, number, number];
  cache: ReferenceCache;
}

export class ReferenceModel {
  private readonly cache = new Map<string, Float32Array>();
  private readonly rotary: RotaryParameters;

  private constructor(
    readonly dims: ForwardDims,
    private readonly weights: ModelWeights,
    private readonly cacheWeights: boolean,
    private readonly blockBytes: number,
  ) {
    this.rotary = rotaryParameters(dims.rope, dims.headDim);
  }

  static async load(modelDir: string, options: ReferenceOptions = {}): Promise<ReferenceModel> {
    const dims = options.dims
      ? forwardDimsOf(options.dims)
      : readForwardDims(options.config ?? (JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as ModelConfig));
    const weights = await ModelWeights.open(modelDir, options.weightFiles);
    return new ReferenceModel(dims, weights, options.cacheWeights ?? false, Math.max(1024, options.blockBytes ?? DEFAULT_BLOCK_BYTES));
  }

  /** Logits for every position of every row: [B, S, V], row-major. Rows must share one length (pad left). */
  async forward(input: ReferenceForwardInput): Promise<ReferenceForwardOutput> {
    const { logits, dims } = await this.step(input.inputIds, input.attentionMask);
    return { logits, dims };
  }

  /**
   * The new tokens `inputIds` [B, S] after the tokens a previous step's `cache` holds; `attentionMask` covers past
   * and new tokens ([B, P + S], all ones when absent). Positions are cumsum(mask) − 1 over the whole mask, the last
   * S kept (transformers.js; transformers' arange + past for unpadded rows).
   */
  async step(inputIds: number[][], attentionMask?: number[][], cache?: ReferenceCache): Promise<ReferenceStep> {
    const { dims } = this;
    const batch = inputIds.length;
    const seq = inputIds[0]?.length ?? 0;
    if (batch === 0 || seq === 0) badInput('inputIds must hold at least one row of at least one token');
    if (cache && cache.length !== batch) badInput(`the cache holds ${cache.length} rows, the input ${batch}`);
    const pastLen = cache ? this.pastLength(cache[0]) : 0;
    const masks = attentionMask ?? inputIds.map(() => new Array<number>(pastLen + seq).fill(1));
    for (let b = 0; b < batch; b++) {
      if (inputIds[b].length !== seq || masks[b]?.length !== pastLen + seq) {
        badInput('every row of inputIds must have the same length (pad on the left) and attentionMask cover past and new tokens');
      }
      for (const id of inputIds[b]) {
        if (!Number.isInteger(id) || id < 0 || id >= dims.vocab) badInput(`token id ${id} is outside the vocabulary of ${dims.vocab}`);
      }
    }
    const H = dims.hidden;
    const P = dims.tensorPrefix;
    const embedRows = await this.embeddingRows(inputIds.flat());
    const hidden = inputIds.map((row) => {
      const h = new Float32Array(seq * H);
      row.forEach((id, s) => h.set(embedRows.get(id)!, s * H));
      return h;
    });
    const positions = masks.map((mask) => positionIdsFromMask(mask).slice(-seq));
    const next: ReferenceCache = inputIds.map(() => []);

    for (let layer = 0; layer < dims.layers; layer++) {
      const p = `${P}.layers.${layer}`;
      for (let b = 0; b < batch; b++) {
        const h = hidden[b];
        const a = rmsNorm(h, H, await this.norm(`${p}.input_layernorm.weight`, H), dims.rmsNormEps);
        const past = cache?.[b][layer];
        let mixed: Float32Array;
        if (isLinearLayer(dims, layer)) {
          const keep = masks[b].slice(-seq);
          const tensors = { get: (name: string, shape: number[]) => this.tensor(`${p}.linear_attn.${name}`, shape), has: (name: string) => this.weights.has(`${p}.linear_attn.${name}`) };
          const result = await linearAttentionLayer(dims.hybrid!.linear, a, seq, keep, tensors, past && 'linear' in past ? past.linear : undefined);
          next[b].push({ linear: result.state });
          mixed = result.output;
        } else {
          const kv = past && 'keys' in past ? past : undefined;
          const result = await this.attention(layer, a, seq, positions[b], masks[b], kv);
          next[b].push(result.cache);
          mixed = result.output;
        }
        for (let i = 0; i < h.length; i++) h[i] += mixed[i];
        const m = rmsNorm(h, H, await this.norm(`${p}.post_attention_layernorm.weight`, H), dims.rmsNormEps);
        const mlp = isSparseLayer(dims, layer) ? await this.sparseMlp(layer, m, seq) : await this.denseMlp(`${p}.mlp`, m, seq, dims.intermediate);
        for (let i = 0; i < h.length; i++) h[i] += mlp[i];
      }
      if (!this.cacheWeights) this.cache.clear();
    }

    const finalNorm = await this.norm(`${P}.norm.weight`, H);
    const head = dims.tied ? `${P}.embed_tokens.weight` : 'lm_head.weight';
    const normed = new Float32Array(batch * seq * H);
    hidden.forEach((h, b) => normed.set(rmsNorm(h, H, finalNorm, dims.rmsNormEps), b * seq * H));
    const logits = await this.project(normed, batch * seq, H, head, dims.vocab, { shape: [dims.vocab, H] });
    if (!this.cacheWeights) this.cache.clear();
    return { logits, dims: [batch, seq, dims.vocab], cache: next };
  }

  /** Tokens a row's cache holds (from its first attention layer; 0 for an empty cache). */
  private pastLength(row: LayerCache[]): number {
    const { kvHeads, headDim } = this.dims;
    for (const layer of row) if ('keys' in layer) return layer.keys.length / (kvHeads * headDim);
    return 0;
  }

  /** An RMSNorm scale: the stored weight, or 1 + w for zero-centred norms (Qwen3NextRMSNorm). */
  private async norm(name: string, n: number): Promise<Float32Array> {
    const w = await this.tensor(name, [n]);
    return this.dims.normZeroCentred ? w.map((v) => Math.fround(1 + v)) : w;
  }

  /**
   * Attention of the new tokens over the cached and new keys. `a` is the normed input [S, H]; `mask` covers past
   * and new tokens. Qwen3-Next / Qwen3.5: q_proj is doubled (per head the query, then the output gate, as
   * transformers' Qwen3NextAttention chunks it), q/k norms are zero-centred, and the output is multiplied by
   * sigmoid(gate) before o_proj.
   */
  private async attention(layer: number, a: Float32Array, seq: number, positions: number[], mask: readonly number[], past?: { keys: Float32Array; values: Float32Array }): Promise<{ output: Float32Array; cache: { keys: Float32Array; values: Float32Array } }> {
    const { dims } = this;
    const { hidden: H, heads: nH, kvHeads: nKV, headDim: D } = dims;
    const p = `${dims.tensorPrefix}.layers.${layer}`;
    const proj = async (name: string, out: number) =>
      this.project(a, seq, H, `${p}.self_attn.${name}.weight`, out, {
        shape: [out, H],
        bias: dims.qkvBias ? await this.tensor(`${p}.self_attn.${name}.bias`, [out]) : undefined,
      });
    let q: Float32Array;
    let gate: Float32Array | undefined;
    if (dims.attentionOutputGate) {
      ({ query: q, gate } = splitGatedQueryReference(await proj('q_proj', 2 * nH * D), seq, nH, D));
    } else {
      q = await proj('q_proj', nH * D);
    }
    let k = await proj('k_proj', nKV * D);
    const v = await proj('v_proj', nKV * D);
    if (dims.qkNorm) {
      // Per head over D, before RoPE (Qwen3).
      q = rmsNorm(q, D, await this.norm(`${p}.self_attn.q_norm.weight`, D), dims.rmsNormEps);
      k = rmsNorm(k, D, await this.norm(`${p}.self_attn.k_norm.weight`, D), dims.rmsNormEps);
    }
    this.rope(q, seq, nH, positions);
    this.rope(k, seq, nKV, positions);
    const keys = past ? concat(past.keys, k) : k;
    const values = past ? concat(past.values, v) : v;
    const out = attend(q, keys, values, seq, mask, { heads: nH, kvHeads: nKV, headDim: D });
    if (gate) for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] * sigmoid(gate[i]));
    const oBias = dims.oBias ? await this.tensor(`${p}.self_attn.o_proj.bias`, [H]) : undefined;
    const output = await this.project(out, seq, nH * D, `${p}.self_attn.o_proj.weight`, H, { shape: [H, nH * D], bias: oBias });
    return { output, cache: { keys, values } };
  }

  /**
   * Half-split ("NeoX") RoPE in place on [seq, heads, D] (§4), over the first rotaryDim dims of each head (partial
   * rotary), cos and sin scaled by the attention factor (YaRN).
   */
  private rope(x: Float32Array, seq: number, heads: number, positions: number[]): void {
    const D = this.dims.headDim;
    const { invFreq, attentionFactor, rotaryDim } = this.rotary;
    const half = rotaryDim / 2;
    for (let s = 0; s < seq; s++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(positions[s] * invFreq[i]);
        const c = Math.fround(Math.cos(angle) * attentionFactor);
        const sn = Math.fround(Math.sin(angle) * attentionFactor);
        for (let h = 0; h < heads; h++) {
          const o = (s * heads + h) * D;
          const x1 = x[o + i];
          const x2 = x[o + i + half];
          x[o + i] = x1 * c - x2 * sn;
          x[o + i + half] = x2 * c + x1 * sn;
        }
      }
    }
  }

  private async denseMlp(prefix: string, m: Float32Array, seq: number, width: number): Promise<Float32Array> {
    const H = this.dims.hidden;
    return this.swiglu(m, seq, [
      { name: `${prefix}.gate_proj.weight`, shape: [width, H] },
      { name: `${prefix}.up_proj.weight`, shape: [width, H] },
      { name: `${prefix}.down_proj.weight`, shape: [H, width] },
    ], width);
  }

  /** SwiGLU down(silu(gate(x)) ⊙ up(x)) over three (possibly row-offset) weight matrices. */
  private async swiglu(x: Float32Array, rows: number, [gate, up, down]: MatrixRef[], width: number): Promise<Float32Array> {
    const H = this.dims.hidden;
    const g = await this.project(x, rows, H, gate.name, width, gate);
    const u = await this.project(x, rows, H, up.name, width, up);
    for (let i = 0; i < g.length; i++) g[i] = silu(g[i]) * u[i];
    return this.project(g, rows, width, down.name, H, down);
  }

  /** Router softmax in float32, top-K, optional renormalisation, weighted experts, qwen2_moe's gated shared expert. */
  private async sparseMlp(layer: number, m: Float32Array, seq: number): Promise<Float32Array> {
    const { hidden: H } = this.dims;
    const moe = this.dims.moe!;
    const p = `${this.dims.tensorPrefix}.layers.${layer}.mlp`;
    const router = await this.project(m, seq, H, `${p}.gate.weight`, moe.experts, { shape: [moe.experts, H] });
    const out = new Float32Array(seq * H);
    const fused = this.weights.has(`${p}.experts.gate_up_proj`);
    for (let s = 0; s < seq; s++) {
      const probs = Float32Array.from(router.subarray(s * moe.experts, (s + 1) * moe.experts));
      softmaxInPlace(probs);
      const chosen = [...probs.keys()].sort((x, y) => probs[y] - probs[x] || x - y).slice(0, moe.topK);
      let total = 0;
      for (const e of chosen) total += probs[e];
      const token = m.subarray(s * H, (s + 1) * H);
      for (const e of chosen) {
        const weight = moe.normTopkProb ? Math.fround(probs[e] / total) : probs[e];
        const y = await this.expert(p, e, token, fused);
        for (let i = 0; i < H; i++) out[s * H + i] += weight * y[i];
      }
    }
    if (moe.sharedIntermediate > 0) {
      const shared = await this.denseMlp(`${p}.shared_expert`, m, seq, moe.sharedIntermediate);
      const gate = await this.project(m, seq, H, `${p}.shared_expert_gate.weight`, 1, { shape: [1, H] });
      for (let s = 0; s < seq; s++) {
        const g = sigmoid(gate[s]);
        for (let i = 0; i < H; i++) out[s * H + i] += g * shared[s * H + i];
      }
    }
    return out;
  }

  private async expert(prefix: string, e: number, token: Float32Array, fused: boolean): Promise<Float32Array> {
    const { hidden: H } = this.dims;
    const { experts: E, moeIntermediate: Im } = this.dims.moe!;
    if (!fused) return this.denseMlp(`${prefix}.experts.${e}`, token, 1, Im);
    // transformers v5 layout: gate_up_proj [E, 2·Im, H] (gate rows first), down_proj [E, H, Im]; read as
    // row ranges of the flattened [E·2·Im, H] and [E·H, Im] matrices.
    const gateUp = `${prefix}.experts.gate_up_proj`;
    const down = `${prefix}.experts.down_proj`;
    return this.swiglu(token, 1, [
      { name: gateUp, shape: [E, 2 * Im, H], rowOffset: 2 * e * Im },
      { name: gateUp, shape: [E, 2 * Im, H], rowOffset: (2 * e + 1) * Im },
      { name: down, shape: [E, H, Im], rowOffset: e * H },
    ], Im);
  }

  /**
   * y[rows, out] = x[rows, in] · W[rowOffset .. rowOffset+out)ᵀ (+ bias). W is read whole (and cached) when it is
   * small or cacheWeights is set, else in blocks of at most blockBytes of float32.
   */
  private async project(
    x: Float32Array,
    rows: number,
    inDim: number,
    name: string,
    outDim: number,
    ref: { shape?: number[]; rowOffset?: number; bias?: Float32Array } = {},
  ): Promise<Float32Array> {
    const where = this.weights.locate(name, ref.shape);
    const totalRows = where.shape.reduce((a, b) => a * b, 1) / inDim;
    const rowOffset = ref.rowOffset ?? 0;
    if (this.cacheWeights || totalRows * inDim * 4 <= this.blockBytes) {
      const w = await this.tensor(name, where.shape);
      return linear(x, rows, inDim, w.subarray(rowOffset * inDim, (rowOffset + outDim) * inDim), outDim, ref.bias);
    }
    const blockRows = Math.max(1, Math.floor(this.blockBytes / (inDim * 4)));
    const y = new Float32Array(rows * outDim);
    for (let start = 0; start < outDim; start += blockRows) {
      const n = Math.min(blockRows, outDim - start);
      const w = await this.weights.float32Range(name, (rowOffset + start) * inDim, n * inDim);
      const part = linear(x, rows, inDim, w, n, ref.bias?.subarray(start, start + n));
      for (let r = 0; r < rows; r++) y.set(part.subarray(r * n, (r + 1) * n), r * outDim + start);
    }
    return y;
  }

  /** The embedding rows of the given ids; only those rows are read unless weights are cached. */
  private async embeddingRows(ids: number[]): Promise<Map<number, Float32Array>> {
    const { vocab: V, hidden: H } = this.dims;
    const name = `${this.dims.tensorPrefix}.embed_tokens.weight`;
    const rows = new Map<number, Float32Array>();
    if (this.cacheWeights) {
      const table = await this.tensor(name, [V, H]);
      for (const id of ids) rows.set(id, table.subarray(id * H, (id + 1) * H));
      return rows;
    }
    this.weights.locate(name, [V, H]);
    for (const id of new Set(ids)) rows.set(id, await this.weights.float32Range(name, id * H, H));
    return rows;
  }

  private async tensor(name: string, shape: number[]): Promise<Float32Array> {
    let value = this.cache.get(name);
    if (!value) {
      value = await this.weights.float32(name, shape);
      this.cache.set(name, value);
    }
    return value;
  }
}

function badInput(message: string): never {
  throw new ModelImportError('BAD_INPUT', message, { hint: 'Pass rows of equal length, left-padded, with a matching attention mask.' });
}

/** The reference forward pass of a model folder: config.json plus its safetensors. */
export async function referenceForward(
  modelDir: string,
  input: ReferenceForwardInput,
  options: ReferenceOptions = {},
): Promise<ReferenceForwardOutput> {
  const model = await ReferenceModel.load(modelDir, options);
  return model.forward(input);
}

/**
 * The reference pass within a memory budget, for models whose float32 weights do not fit: weights are read in
 * blocks of an eighth of the budget (activations and logits take the rest for short prompts). The shape of the
 * validator's proposed ValidationSupport.layerwiseForward. Plain TypeScript: minutes for billions of parameters.
 */
export async function boundedReferenceForward(
  modelDir: string,
  input: ReferenceForwardInput,
  options: { maxMemory: number },
): Promise<ReferenceForwardOutput> {
  const blockBytes = Math.min(256 << 20, Math.max(64 << 10, Math.floor(options.maxMemory / 8)));
  return referenceForward(modelDir, input, { blockBytes });
}
