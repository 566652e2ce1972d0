/**
 * Keeps `depth` items of an async stream requested ahead of the consumer. The writer awaits each write on the
 * libuv thread pool; meanwhile the next chunk is read (also on the pool) and converted (main thread), so a
 * conversion costs about max(read + convert, write) instead of their sum. Async generators queue concurrent
 * next() calls, so requesting ahead is safe. Memory: depth extra chunks.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth = 1): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  let finished = false;
  try {
    for (;;) {
      while (!finished && pending.length <= depth) {
        const next = it.next();
        pending.push(next);
        // Stop requesting once the source says it is done (checked lazily; extra next() on a done generator is harmless).
        next.then((r) => { if (r.done) finished = true; }, () => { finished = true; });
      }
      const result = await pending.shift()!;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    // Let requests already made settle (their errors are the consumer's only if it awaited them), then close.
    await Promise.allSettled(pending);
    await it.return?.(undefined);
  }
}
