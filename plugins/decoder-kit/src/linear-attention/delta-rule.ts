/**
 * The gated delta rule, in the two forms transformers uses (qwen3_next/modeling_qwen3_next.py):
 * `torch_recurrent_gated_delta_rule` (token by token, decode steps) and `torch_chunk_gated_delta_rule`
 * (chunks of 64, prefill). They are the same function of (state, inputs); the tests hold them to each other.
 *
 * Inputs are already prepared (query-key-norm.ts): q, k [B, T, H, Dk] with H the value-head count, q normalised
 * and scaled, k normalised; v [B, T, H, Dv]; g (log-decay) and beta [B, T, H]. The state S is [B, H, Dk, Dv],
 * float32 like transformers' recurrent cache; all zeros for a fresh sequence. Per token:
 *   S ← S·exp(g);  u = beta·(v − Sᵀk);  S ← S + k⊗u;  o = Sᵀq
 */

export interface DeltaRuleInputs {
  batch: number;
  seq: number;
  heads: number;
  keyDim: number;
  valueDim: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  g: Float32Array;
  beta: Float32Array;
}

export interface DeltaRuleResult {
  /** [B, T, H, Dv] */
  output: Float32Array;
  /** [B, H, Dk, Dv] after the last token. */
  state: Float32Array;
}

/** Token-by-token form. */
export function recurrentDeltaRule(inputs: DeltaRuleInputs, initialState?: Float32Array): DeltaRuleResult {
  const { batch, seq, heads, keyDim: dk, valueDim: dv } = inputs;
  const output = new Float32Array(batch * seq * heads * dv);
  const state = initialState ? Float32Array.from(initialState) : new Float32Array(batch * heads * dk * dv);
  const memory = new Float64Array(dv);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const s0 = (b * heads + h) * dk * dv;
      for (let t = 0; t < seq; t++) {
        const row = (b * seq + t) * heads + h;
        const decay = Math.exp(inputs.g[row]);
        for (let i = 0; i < dk * dv; i++) state[s0 + i] *= decay;
        memory.fill(0);
        for (let i = 0; i < dk; i++) {
          const ki = inputs.k[row * dk + i];
          for (let j = 0; j < dv; j++) memory[j] += state[s0 + i * dv + j] * ki;
        }
        for (let j = 0; j < dv; j++) memory[j] = (inputs.v[row * dv + j] - memory[j]) * inputs.beta[row];
        for (let i = 0; i < dk; i++) {
          const ki = inputs.k[row * dk + i];
          for (let j = 0; j < dv; j++) state[s0 + i * dv + j] += ki * memory[j];
        }
        for (let j = 0; j < dv; j++) {
          let sum = 0;
          for (let i = 0; i < dk; i++) sum += state[s0 + i * dv + j] * inputs.q[row * dk + i];
          output[row * dv + j] = sum;
        }
      }
    }
  }
  return { output, state };
}

/**
 * Chunked (WY) form, step for step as transformers' torch_chunk_gated_delta_rule: inside a chunk the rank-one
 * updates are gathered by inverting a unit lower-triangular matrix (forward substitution); between chunks only
 * the state is carried. The sequence is padded with zeros to a whole number of chunks (g = 0, k = v = beta = 0
 * leave state and earlier outputs unchanged).
 */
export function chunkedDeltaRule(inputs: DeltaRuleInputs, initialState?: Float32Array, chunkSize = 64): DeltaRuleResult {
  const { batch, seq, heads, keyDim: dk, valueDim: dv } = inputs;
  const C = chunkSize;
  const output = new Float32Array(batch * seq * heads * dv);
  const state = initialState ? Float32Array.from(initialState) : new Float32Array(batch * heads * dk * dv);
  const chunks = Math.ceil(seq / C);
  // Per-chunk scratch, float64.
  const G = new Float64Array(C);
  const Q = new Float64Array(C * dk);
  const K = new Float64Array(C * dk);
  const KB = new Float64Array(C * dk);
  const VB = new Float64Array(C * dv);
  const A = new Float64Array(C * C);
  const U = new Float64Array(C * dv);
  const W = new Float64Array(C * dk);
  const VNew = new Float64Array(C * dv);
  const S = new Float64Array(dk * dv);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const s0 = (b * heads + h) * dk * dv;
      for (let i = 0; i < dk * dv; i++) S[i] = state[s0 + i];
      for (let n = 0; n < chunks; n++) {
        // Load the chunk (zero rows past the end) and the cumulative log-decay G.
        let cumulative = 0;
        for (let i = 0; i < C; i++) {
          const t = n * C + i;
          const real = t < seq;
          const row = (b * seq + t) * heads + h;
          const beta = real ? inputs.beta[row] : 0;
          cumulative += real ? inputs.g[row] : 0;
          G[i] = cumulative;
          for (let x = 0; x < dk; x++) {
            Q[i * dk + x] = real ? inputs.q[row * dk + x] : 0;
            K[i * dk + x] = real ? inputs.k[row * dk + x] : 0;
            KB[i * dk + x] = K[i * dk + x] * beta;
          }
          for (let y = 0; y < dv; y++) VB[i * dv + y] = (real ? inputs.v[row * dv + y] : 0) * beta;
        }
        // A = strictly-lower −(KB·Kᵀ ⊙ decay), then forward substitution row by row, then + I.
        for (let i = 0; i < C; i++) {
          for (let j = 0; j < C; j++) {
            if (j >= i) {
              A[i * C + j] = 0;
              continue;
            }
            let dot = 0;
            for (let x = 0; x < dk; x++) dot += KB[i * dk + x] * K[j * dk + x];
            A[i * C + j] = -dot * Math.exp(G[i] - G[j]);
          }
        }
        const row = new Float64Array(C);
        for (let i = 1; i < C; i++) {
          for (let j = 0; j < i; j++) row[j] = A[i * C + j];
          for (let j = 0; j < i; j++) {
            let sum = row[j];
            for (let m = 0; m < i; m++) sum += row[m] * A[m * C + j];
            A[i * C + j] = sum;
          }
        }
        for (let i = 0; i < C; i++) A[i * C + i] = 1;
        // U = A·VB, W = A·(KB·exp(G)).
        for (let i = 0; i < C; i++) {
          for (let y = 0; y < dv; y++) {
            let sum = 0;
            for (let j = 0; j <= i; j++) sum += A[i * C + j] * VB[j * dv + y];
            U[i * dv + y] = sum;
          }
          for (let x = 0; x < dk; x++) {
            let sum = 0;
            for (let j = 0; j <= i; j++) sum += A[i * C + j] * KB[j * dk + x] * Math.exp(G[j]);
            W[i * dk + x] = sum;
          }
        }
        // VNew = U − W·S: what each row still has to write once the carried state is accounted for.
        for (let i = 0; i < C; i++) {
          for (let y = 0; y < dv; y++) {
            let sum = 0;
            for (let x = 0; x < dk; x++) sum += W[i * dk + x] * S[x * dv + y];
            VNew[i * dv + y] = U[i * dv + y] - sum;
          }
        }
        // Outputs: inter-chunk (Q·exp(G))·S plus intra-chunk causal (Q·Kᵀ ⊙ decay)·VNew.
        for (let i = 0; i < C; i++) {
          const t = n * C + i;
          if (t >= seq) break;
          const out = ((b * seq + t) * heads + h) * dv;
          const weights = new Float64Array(i + 1);
          for (let j = 0; j <= i; j++) {
            let dot = 0;
            for (let x = 0; x < dk; x++) dot += Q[i * dk + x] * K[j * dk + x];
            weights[j] = dot * Math.exp(G[i] - G[j]);
          }
          const qDecay = Math.exp(G[i]);
          for (let y = 0; y < dv; y++) {
            let sum = 0;
            for (let x = 0; x < dk; x++) sum += Q[i * dk + x] * qDecay * S[x * dv + y];
            for (let j = 0; j <= i; j++) sum += weights[j] * VNew[j * dv + y];
            output[out + y] = sum;
          }
        }
        // Carry: S·exp(G_last) + (K·exp(G_last − G))ᵀ·VNew.
        const last = G[C - 1];
        for (let x = 0; x < dk; x++) {
          for (let y = 0; y < dv; y++) {
            let sum = S[x * dv + y] * Math.exp(last);
            for (let i = 0; i < C; i++) sum += K[i * dk + x] * Math.exp(last - G[i]) * VNew[i * dv + y];
            S[x * dv + y] = sum;
          }
        }
      }
      for (let i = 0; i < dk * dv; i++) state[s0 + i] = S[i];
    }
  }
  return { output, state };
}
