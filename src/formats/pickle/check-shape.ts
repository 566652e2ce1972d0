/** The loaded value's shape checked once at STOP (pickle-vm.ts), before anything walks it. */
import { PickleDict, isTuple } from './pickle-values.js';

/**
 * Walks the loaded value once, without recursion, before anyone else does (the state-dict walk, key conversion,
 * tensor discovery): refuses a container that contains itself and nesting deeper than maxDepth. Shared (DAG)
 * parts are visited once, so "billion laughs" sharing costs no more than its element count.
 */
export function checkShape(root: unknown, maxDepth: number, bad: (what: string) => Error): void {
  const done = new Set<object>();
  const onPath = new Set<object>();
  // Each frame: a container and an iterator over its children. Exiting a frame takes it off the path.
  const frames: { node: object; children: Iterator<unknown> }[] = [];
  const childrenOf = (node: object): Iterator<unknown> | undefined => {
    if (Array.isArray(node)) return (node as unknown[])[Symbol.iterator]();
    if (node instanceof PickleDict) {
      const map = node.map;
      const state = node.state;
      return (function* () {
        for (const [key, value] of map) {
          yield key;
          yield value;
        }
        yield state;
      })();
    }
    return undefined; // tensors, storages, bytes, globals: leaves built by the VM itself
  };
  const enter = (value: unknown) => {
    if (typeof value !== 'object' || value === null || done.has(value)) return;
    if (onPath.has(value)) throw bad(`holds a ${value instanceof PickleDict ? 'dict' : isTuple(value) ? 'tuple' : 'list'} that contains itself (a reference cycle): refused`);
    const children = childrenOf(value);
    if (!children) return;
    if (frames.length >= maxDepth) throw bad(`nests containers deeper than ${maxDepth} levels (maxDepth): refused`);
    onPath.add(value);
    frames.push({ node: value, children });
  };
  enter(root);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1];
    const next = frame.children.next();
    if (next.done) {
      frames.pop();
      onPath.delete(frame.node);
      done.add(frame.node);
    } else enter(next.value);
  }
}
