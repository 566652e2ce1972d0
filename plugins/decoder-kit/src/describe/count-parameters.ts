/** Parameter count from tensor shapes: what metadata.model_size records. Tied embeddings count once. */

export function countParameters(tensors: ReadonlyArray<{ shape: readonly number[] }>): number {
  let total = 0;
  for (const t of tensors) total += t.shape.reduce((n, d) => n * d, 1);
  return total;
}
