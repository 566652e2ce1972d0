/** Runs tasks with at most `limit` at once; the first failure stops new starts and is thrown once all settle. */
export async function runPool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * Connections shared by every blob of one pull: each ranged GET holds a slot, so a large blob alone can use them
 * all and several small blobs share them, never more than `size` requests in flight.
 */
export class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async run<R>(task: () => Promise<R>): Promise<R> {
    while (this.free === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.free--;
    try {
      return await task();
    } finally {
      this.free++;
      this.waiting.shift()?.();
    }
  }
}
