/**
 * Seeded randomness for the reliability suites: each suite prints its seed, and RELIABILITY_SEED replays a run
 * (every suite derives its own stream from it, so one seed replays them all).
 */
import { mulberry32, seedFor } from '../fixtures/prng.js';

export interface Rng {
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** The base seed: RELIABILITY_SEED if set (decimal), else a fresh one. */
export function baseSeed(): number {
  const given = process.env.RELIABILITY_SEED;
  if (given !== undefined && given !== '') {
    const value = Number(given);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`RELIABILITY_SEED must be a non-negative integer, got ${given}`);
    return value >>> 0;
  }
  return (Date.now() ^ (process.pid << 10)) >>> 0;
}

/** The generator of one suite; logs the seed and how to replay it. */
export function suiteRng(suite: string): Rng {
  const base = baseSeed();
  console.log(`${suite}: seed ${base} (replay with RELIABILITY_SEED=${base})`);
  return makeRng(seedFor(base, suite));
}

export function makeRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}
