/** How far a pickle may push the VM (pickle-vm.ts) before it is refused. */
/**
 * Bounds a hostile pickle cannot push past; exceeding one is a BAD_INPUT error naming the limit. A real state
 * dict is far inside all of them: per tensor it holds about 20 container elements, 10 memo entries and a stack a
 * few items deep, and it nests 4 levels (state dict -> _metadata -> module -> version).
 */
export interface PickleLimits {
  /** Items on the stack plus open MARKs (default 1,000,000). */
  maxStack?: number;
  /** Memo entries (default 1,000,000). */
  maxMemo?: number;
  /** Elements put into lists, tuples and dicts over the whole pickle, a dict item counting 2 (default 4,000,000). */
  maxElements?: number;
  /** Nesting depth of the loaded value, checked by the walk at STOP (default 64). */
  maxDepth?: number;
  /** Bytes of one string or bytes value (default 1 MiB; state-dict keys are short). */
  maxStringBytes?: number;
}

export const DEFAULT_PICKLE_LIMITS: Required<PickleLimits> = {
  maxStack: 1_000_000,
  maxMemo: 1_000_000,
  maxElements: 4_000_000,
  maxDepth: 64,
  maxStringBytes: 1 << 20,
};
