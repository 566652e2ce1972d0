/**
 * Greedy decoding over the reference pass: each step recomputes the whole sequence (no cache) and appends the
 * argmax of the last position. Ties go to the lowest id, as argmax does in transformers.js and PyTorch.
 */
import { ReferenceModel, type ReferenceOptions } from './reference-model.js';

export interface GreedyOptions extends ReferenceOptions {
  maxNewTokens: number;
  /** Stop after producing any of these ids (the id is included in the result). */
  eosTokenIds?: number[];
}

/** The new token ids (prompt excluded) greedy decoding produces from one prompt. */
export async function referenceGreedyGenerate(modelDir: string, promptIds: number[], options: GreedyOptions): Promise<number[]> {
  const model = await ReferenceModel.load(modelDir, { ...options, cacheWeights: true });
  const ids = [...promptIds];
  const produced: number[] = [];
  for (let step = 0; step < options.maxNewTokens; step++) {
    const { logits, dims } = await model.forward({ inputIds: [ids] });
    const vocab = dims[2];
    const last = logits.subarray((ids.length - 1) * vocab, ids.length * vocab);
    const next = argmax(last);
    ids.push(next);
    produced.push(next);
    if (options.eosTokenIds?.includes(next)) break;
  }
  return produced;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
