/** Element-wise comparison of logits, with the place of the worst difference for the failure message. */

export interface Difference {
  /** max |a - b|; NaN when either side holds a NaN at the reported place. */
  max: number;
  /** [batch, position, vocab] of the worst element. */
  at: [number, number, number];
}

/** a and b are row-major [batch, seq, vocab] of the same dims. */
export function maxAbsDifference(a: Float32Array, b: Float32Array, dims: readonly [number, number, number]): Difference {
  let max = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return { max: NaN, at: place(i, dims) };
    if (d > max) {
      max = d;
      worst = i;
    }
  }
  return { max, at: place(worst, dims) };
}

export interface NonFinite {
  count: number;
  first?: { at: [number, number, number]; value: number };
}

export function findNonFinite(values: Float32Array, dims: readonly [number, number, number]): NonFinite {
  let count = 0;
  let first: NonFinite['first'];
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      count++;
      first ??= { at: place(i, dims), value: values[i] };
    }
  }
  return { count, first };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** The logits of one position of one row. */
export function row(logits: Float32Array, dims: readonly [number, number, number], batch: number, position: number): Float32Array {
  const vocab = dims[2];
  const start = (batch * dims[1] + position) * vocab;
  return logits.subarray(start, start + vocab);
}

function place(index: number, dims: readonly [number, number, number]): [number, number, number] {
  const [, seq, vocab] = dims;
  return [Math.floor(index / (seq * vocab)), Math.floor(index / vocab) % seq, index % vocab];
}
