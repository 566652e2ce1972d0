/**
 * An independent forward pass of the Qwen2/Qwen3 decoders (and their MoE variants) in plain TypeScript, written
 * from reference/qwen-family.md §4 and §2.3 rather than from the ONNX graph it checks. It recomputes the whole
 * sequence every call (no cache): it is an oracle for tiny models, not a runtime.
 */
import type { ModelConfig, ReferenceForwardInput, ReferenceForwardOutput } from '../../../../src/index.js';
import { ModelImportError } from '../../../../src/index.js';
import { isSparseLayer, positionIdsFromMask, readForwardDims, ropeInverseFrequencies, type ForwardDims } from './forward-dims.js';
import { ModelWeights } from './model-weights.js';
import { linear, rmsNorm, sigmoid, softmaxInPlace, swiglu } from './tensor-math.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What HF's eager attention adds to masked scores: float32's most negative value. */
const MASKED = -3.4028234663852886e38;

export interface ReferenceOptions {
  /** Use this config instead of modelDir/config.json. */
  config?: ModelConfig;
  /** Weight file names relative to modelDir (default: from the index, else model.safetensors). */
  weightFiles?: string[];
  /** Keep every tensor in memory between calls (the greedy loop); default reads per call. */
  cacheWeights?: boolean;
}

export class ReferenceModel {
  private readonly cache = new Map<string, Float32Array>();
  private readonly invFreq: Float32Array;

  private constructor(
    readonly dims: ForwardDims,
    private readonly weights: ModelWeights,
    private readonly cacheWeights: boolean,
  ) {
    this.invFreq = ropeInverseFrequencies(dims);
  }

  static async load(modelDir: string, options: ReferenceOptions = {}): Promise<ReferenceModel> {
    const config = options.config ?? (JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as ModelConfig);
    const dims = readForwardDims(config);
    const weights = await ModelWeights.open(modelDir, options.weightFiles);
    return new ReferenceModel(dims, weights, options.cacheWeights ?? false);
  }

  /** Logits for every position of every row: [B, S, V], row-major. Rows must share one length (pad left). */
  async forward(input: ReferenceForwardInput): Promise<ReferenceForwardOutput> {
    const { dims } = this;
    const batch = input.inputIds.length;
    const seq = input.inputIds[0]?.length ?? 0;
    if (batch === 0 || seq === 0) badInput('inputIds must hold at least one row of at least one token');
    const masks = input.attentionMask ?? input.inputIds.map((row) => row.map(() => 1));
    for (let b = 0; b < batch; b++) {
      if (input.inputIds[b].length !== seq || masks[b]?.length !== seq) {
        badInput('every row of inputIds and attentionMask must have the same length (pad on the left)');
      }
      for (const id of input.inputIds[b]) {
        if (!Number.isInteger(id) || id < 0 || id >= dims.vocab) badInput(`token id ${id} is outside the vocabulary of ${dims.vocab}`);
      }
    }
    const H = dims.hidden;
    const embed = await this.tensor('model.embed_tokens.weight', [dims.vocab, H]);
    const hidden = input.inputIds.map((row) => {
      const h = new Float32Array(seq * H);
      row.forEach((id, s) => h.set(embed.subarray(id * H, id * H + H), s * H));
      return h;
    });
    const positions = masks.map((mask) => positionIdsFromMask(mask));

    for (let layer = 0; layer < dims.layers; layer++) {
      for (let b = 0; b < batch; b++) {
        const h = hidden[b];
        const attn = await this.attention(layer, h, seq, positions[b], masks[b]);
        for (let i = 0; i < h.length; i++) h[i] += attn[i];
        const m = rmsNorm(h, H, await this.tensor(`model.layers.${layer}.post_attention_layernorm.weight`, [H]), dims.rmsNormEps);
        const mlp = isSparseLayer(dims, layer) ? await this.sparseMlp(layer, m, seq) : await this.denseMlp(`model.layers.${layer}.mlp`, m, seq, dims.intermediate);
        for (let i = 0; i < h.length; i++) h[i] += mlp[i];
      }
      if (!this.cacheWeights) this.cache.clear();
    }

    const finalNorm = await this.tensor('model.norm.weight', [H]);
    const head = dims.tied ? embed : await this.tensor('lm_head.weight', [dims.vocab, H]);
    const logits = new Float32Array(batch * seq * dims.vocab);
    hidden.forEach((h, b) => {
      logits.set(linear(rmsNorm(h, H, finalNorm, dims.rmsNormEps), seq, H, head, dims.vocab), b * seq * dims.vocab);
    });
    if (!this.cacheWeights) this.cache.clear();
    return { logits, dims: [batch, seq, dims.vocab] };
  }

  private async attention(layer: number, h: Float32Array, seq: number, positions: number[], mask: readonly number[]): Promise<Float32Array> {
    const { dims } = this;
    const { hidden: H, heads: nH, kvHeads: nKV, headDim: D } = dims;
    const p = `model.layers.${layer}`;
    const a = rmsNorm(h, H, await this.tensor(`${p}.input_layernorm.weight`, [H]), dims.rmsNormEps);
    const bias = async (name: string, n: number) => (dims.qkvBias ? this.tensor(`${p}.self_attn.${name}.bias`, [n]) : undefined);
    let q = linear(a, seq, H, await this.tensor(`${p}.self_attn.q_proj.weight`, [nH * D, H]), nH * D, await bias('q_proj', nH * D));
    let k = linear(a, seq, H, await this.tensor(`${p}.self_attn.k_proj.weight`, [nKV * D, H]), nKV * D, await bias('k_proj', nKV * D));
    const v = linear(a, seq, H, await this.tensor(`${p}.self_attn.v_proj.weight`, [nKV * D, H]), nKV * D, await bias('v_proj', nKV * D));
    if (dims.qkNorm) {
      // Per head over D, before RoPE (Qwen3).
      q = rmsNorm(q, D, await this.tensor(`${p}.self_attn.q_norm.weight`, [D]), dims.rmsNormEps);
      k = rmsNorm(k, D, await this.tensor(`${p}.self_attn.k_norm.weight`, [D]), dims.rmsNormEps);
    }
    this.rope(q, seq, nH, positions);
    this.rope(k, seq, nKV, positions);

    const rep = nH / nKV;
    const scale = 1 / Math.sqrt(D);
    const out = new Float32Array(seq * nH * D);
    const scores = new Float64Array(seq);
    for (let head = 0; head < nH; head++) {
      const kvHead = Math.floor(head / rep); // repeat_interleave, not tiling
      for (let i = 0; i < seq; i++) {
        const qo = (i * nH + head) * D;
        for (let t = 0; t < seq; t++) {
          if (t > i || mask[t] === 0) {
            scores[t] = MASKED;
            continue;
          }
          const ko = (t * nKV + kvHead) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          scores[t] = Math.fround(dot) * scale;
        }
        softmaxInPlace(scores, seq);
        for (let t = 0; t < seq; t++) {
          const w = scores[t];
          if (w === 0) continue;
          const vo = (t * nKV + kvHead) * D;
          for (let d = 0; d < D; d++) out[qo + d] += w * v[vo + d];
        }
      }
    }
    const oBias = dims.oBias ? await this.tensor(`${p}.self_attn.o_proj.bias`, [H]) : undefined;
    return linear(out, seq, nH * D, await this.tensor(`${p}.self_attn.o_proj.weight`, [H, nH * D]), H, oBias);
  }

  /** Half-split ("NeoX") RoPE in place on [seq, heads, D] (§4). */
  private rope(x: Float32Array, seq: number, heads: number, positions: number[]): void {
    const D = this.dims.headDim;
    const half = D / 2;
    for (let s = 0; s < seq; s++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(positions[s] * this.invFreq[i]);
        const c = Math.fround(Math.cos(angle));
        const sn = Math.fround(Math.sin(angle));
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
    return swiglu(
      m,
      seq,
      H,
      width,
      await this.tensor(`${prefix}.gate_proj.weight`, [width, H]),
      await this.tensor(`${prefix}.up_proj.weight`, [width, H]),
      await this.tensor(`${prefix}.down_proj.weight`, [H, width]),
    );
  }

  /** Router softmax in float32, top-K, optional renormalisation, weighted experts, qwen2_moe's gated shared expert. */
  private async sparseMlp(layer: number, m: Float32Array, seq: number): Promise<Float32Array> {
    const { hidden: H } = this.dims;
    const moe = this.dims.moe!;
    const p = `model.layers.${layer}.mlp`;
    const router = linear(m, seq, H, await this.tensor(`${p}.gate.weight`, [moe.experts, H]), moe.experts);
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
      const gate = linear(m, seq, H, await this.tensor(`${p}.shared_expert_gate.weight`, [1, H]), 1);
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
    // transformers v5 layout: gate_up_proj [E, 2·Im, H] (gate rows first), down_proj [E, H, Im].
    const gateUp = await this.tensor(`${prefix}.experts.gate_up_proj`, [E, 2 * Im, H]);
    const down = await this.tensor(`${prefix}.experts.down_proj`, [E, H, Im]);
    const block = gateUp.subarray(e * 2 * Im * H, (e + 1) * 2 * Im * H);
    return swiglu(token, 1, H, Im, block.subarray(0, Im * H), block.subarray(Im * H), down.subarray(e * H * Im, (e + 1) * H * Im));
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
