/**
 * Greedy decoding over the reference pass: the prompt once, then one token at a time from the reference's own
 * cache (ReferenceModel.step; incremental == whole sequence is tested), appending the argmax of the last position.
 * Ties go to the lowest id, as argmax does in transformers.js and PyTorch.
 */
import { ReferenceModel, type ReferenceCache, type ReferenceOptions } from './reference-model.js';

export interface GreedyOptions extends ReferenceOptions {
  maxNewTokens: number;
  /** Stop after producing any of these ids (the id is included in the result). */
  eosTokenIds?: number[];
}

/** The new token ids (prompt excluded) greedy decoding produces from one prompt. */
export async function referenceGreedyGenerate(modelDir: string, promptIds: number[], options: GreedyOptions): Promise<number[]> {
  const model = await ReferenceModel.load(modelDir, { ...options, cacheWeights: true });
  const produced: number[] = [];
  let input = [...promptIds];
  let mask: number[] = [];
  let cache: ReferenceCache | undefined;
  for (let step = 0; step < options.maxNewTokens; step++) {
    mask = [...mask, ...input.map(() => 1)];
    const result = await model.step([input], [mask], cache);
    const [, seq, vocab] = result.dims;
    const next = argmax(result.logits.subarray((seq - 1) * vocab, seq * vocab));
    cache = result.cache;
    input = [next];
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
