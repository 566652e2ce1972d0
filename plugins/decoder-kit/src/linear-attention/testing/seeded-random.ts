/** Test tooling: reproducible uniform numbers (mulberry32) so a failing case can be rerun exactly. */
export function seededRandom(seed: number): (low?: number, high?: number) => number {
  let a = seed >>> 0;
  return (low = -1, high = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return low + (high - low) * unit;
  };
}

export function randomArray(random: (low?: number, high?: number) => number, length: number, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length }, () => random(low, high));
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
