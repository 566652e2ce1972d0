/**
 * JSON.parse keeps the last of two equal keys, so a duplicate tensor name would silently hide a tensor. This
 * scanner walks JSON text that JSON.parse already accepted and reports the first key that appears twice in the
 * same object, comparing decoded keys ("a" and "\u0061" are the same key). It keeps an explicit stack, so deep
 * nesting cannot overflow the call stack.
 */

export interface DuplicateKey {
  key: string;
  /** Keys of the enclosing objects, outermost first (array positions as decimal strings). */
  path: string[];
}

interface Frame {
  keys: Set<string> | undefined; // undefined for arrays
  expectingKey: boolean;
  lastKey: string;
  index: number;
}

export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  const childPath = (): string[] =>
    stack.map((frame) => (frame.keys === undefined ? String(frame.index) : frame.lastKey));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectingKey: true, lastKey: '', index: 0 });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: undefined, expectingKey: false, lastKey: '', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.keys) top.expectingKey = true;
        else top.index++;
      }
    } else if (c === 0x3a /* : */) {
      const top = stack[stack.length - 1];
      if (top) top.expectingKey = false;
    } else if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (escaped) escaped = false;
        else if (d === 0x5c /* \ */) escaped = true;
        else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectingKey) {
        const raw = text.slice(start, i + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) {
          return { key, path: childPath().slice(0, -1) };
        }
        top.keys.add(key);
        top.lastKey = key;
      }
    }
  }
  return undefined;
}
