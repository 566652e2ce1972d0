/**
 * A pickle virtual machine that executes nothing. It understands the opcodes CPython emits when torch.save
 * pickles a state dict (protocol 2, plus the protocol 4/5 framing and memo opcodes newer writers use) and builds
 * plain data: dicts, lists, tuples, numbers, strings, and tensor/storage references. GLOBAL and STACK_GLOBAL are
 * checked against an exact allow-list; opcodes that call or import without GLOBAL (INST, OBJ, NEWOBJ, EXT*)
 * are refused outright. REDUCE on an allowed global builds a record; no code runs, ever.
 */
import { badCheckpoint, refusedGlobal, REFUSED_HINT } from './bad-checkpoint.js';
import { allowedGlobal } from './allowed-globals.js';
import { checkShape } from './check-shape.js';
import { DEFAULT_PICKLE_LIMITS, type PickleLimits } from './pickle-limits.js';
import { GlobalRef, MARK, PickleDict, describe, hashable, isTuple, type StorageRef, type TensorRef } from './pickle-values.js';

// The VM's values and limits live beside it; importers of this module keep finding them here.
export { PickleDict, describe, type StorageRef, type TensorRef } from './pickle-values.js';
export { DEFAULT_PICKLE_LIMITS, type PickleLimits } from './pickle-limits.js';

const NAMES: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x50: 'PERSID', 0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x67: 'GET', 0x70: 'PUT', 0x8b: 'LONG4', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
};

/**
 * Runs a pickle and returns the value STOP leaves. `file` names the checkpoint in errors; `where` names the
 * pickle inside it (e.g. "archive/data.pkl").
 */
export function loadPickle(bytes: Uint8Array, file: string, where = 'data.pkl', limits: PickleLimits = {}): unknown {
  const { maxStack, maxMemo, maxElements, maxDepth, maxStringBytes } = { ...DEFAULT_PICKLE_LIMITS, ...limits };
  let elements = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const storages = new Map<string, StorageRef>();
  let pos = 0;
  let opAt = 0;

  const bad = (what: string) => badCheckpoint(file, `${where} ${what} (at byte ${opAt})`);
  const need = (n: number) => {
    if (pos + n > bytes.length) throw bad('ends in the middle of an instruction (truncated)');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const value = view.getBigUint64(pos, true);
    pos += 8;
    if (value > BigInt(bytes.length)) throw bad('declares a length longer than the pickle');
    return Number(value);
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const sized = (n: number) => {
    if (n > maxStringBytes) throw bad(`holds a ${n}-byte string, over the limit of ${maxStringBytes} bytes (maxStringBytes)`);
    return n;
  };
  const text = (n: number) => {
    sized(n);
    try {
      return decoder.decode(take(n));
    } catch {
      throw bad('holds a string that is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 1000) throw bad('has a GLOBAL line that never ends');
    const value = String.fromCharCode(...bytes.subarray(pos, end));
    pos = end + 1;
    return value;
  };
  const push = (value: unknown) => {
    if (stack.length + marks.length >= maxStack) throw bad(`grows the stack past ${maxStack} items (maxStack)`);
    stack.push(value);
  };
  /** Every element put into a container counts once, so memo/DUP tricks cannot multiply memory unseen. */
  const grow = (n: number) => {
    elements += n;
    if (elements > maxElements) throw bad(`builds containers holding more than ${maxElements} elements in all (maxElements)`);
  };
  const pop = () => {
    const floor = marks.length > 0 ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) throw bad('pops from an empty stack');
    return stack.pop();
  };
  const top = () => {
    const floor = marks.length > 0 ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) throw bad('reads an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const mark = marks.pop();
    if (mark === undefined) throw bad('closes a MARK that was never opened');
    return stack.splice(mark);
  };
  const put = (index: number) => {
    if (memo.size >= maxMemo && !memo.has(index)) throw bad(`grows the memo past ${maxMemo} entries (maxMemo)`);
    memo.set(index, top());
  };
  const get = (index: number) => {
    if (!memo.has(index)) throw bad(`refers to memo slot ${index} that was never stored`);
    push(memo.get(index));
  };
  const global = (module: string, name: string) => {
    const allowed = allowedGlobal(module, name);
    if (!allowed) throw refusedGlobal(file, module, name);
    push(new GlobalRef(module, name, allowed));
  };
  const dictOf = (value: unknown, op: string) => {
    if (!(value instanceof PickleDict)) throw bad(`applies ${op} to something that is not a dict`);
    return value;
  };
  const listOf = (value: unknown, op: string) => {
    if (!Array.isArray(value) || Object.isFrozen(value)) throw bad(`applies ${op} to something that is not a list`);
    return value as unknown[];
  };
  const count = (value: unknown, what: string) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad(`gives ${what} ${describe(value)}, not a non-negative integer`);
    return value;
  };
  const ints = (value: unknown, what: string) => {
    if (!isTuple(value)) throw bad(`gives a tensor ${what} that is not a tuple`);
    return value.map((item) => count(item, `a tensor ${what} entry`));
  };

  const persistentLoad = (pid: unknown): StorageRef => {
    if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') throw bad('has a persistent id that is not a torch storage reference');
    const [, type, key, location, numel] = pid;
    if (!(type instanceof GlobalRef) || type.allowed.kind !== 'storage-type') throw bad('has a storage reference without a storage type');
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) {
      throw badCheckpoint(file, `${where} names storage ${typeof key === 'string' ? JSON.stringify(key.slice(0, 100)) : describe(key)}, which is not a storage key: refused`, REFUSED_HINT);
    }
    if (typeof location !== 'string' || location.length > 64) throw bad('has a storage reference with a bad location');
    const ref: StorageRef = { kind: 'storage', key, dtype: type.allowed.dtype, location, numel: count(numel, 'a storage size') };
    const known = storages.get(key);
    if (known && (known.dtype !== ref.dtype || known.numel !== ref.numel)) throw bad(`uses storage ${key} with two different types or sizes`);
    if (!known) storages.set(key, ref);
    return known ?? ref;
  };

  const reduce = (callable: unknown, args: unknown): unknown => {
    if (!(callable instanceof GlobalRef)) throw bad('calls something that is not an allowed global');
    if (!isTuple(args)) throw bad(`calls ${callable.module}.${callable.name} without an argument tuple`);
    const what = `${callable.module}.${callable.name}`;
    switch (callable.allowed.kind) {
      case 'ordered-dict':
        if (args.length !== 0) throw bad(`calls ${what} with arguments`);
        return new PickleDict();
      case 'rebuild-tensor': {
        if (args.length !== 6 && args.length !== 7) throw bad(`calls ${what} with ${args.length} arguments`);
        const [storage, offset, size, stride, requiresGrad, hooks] = args;
        if (!(typeof storage === 'object' && storage !== null && (storage as StorageRef).kind === 'storage')) {
          throw bad(`calls ${what} without a storage`);
        }
        if (typeof requiresGrad !== 'boolean') throw bad(`calls ${what} with a non-boolean requires_grad`);
        if (!(hooks instanceof PickleDict) || hooks.map.size !== 0) throw bad(`calls ${what} with backward hooks`);
        const shape = ints(size, 'size');
        const strides = ints(stride, 'stride');
        if (shape.length !== strides.length) throw bad(`calls ${what} with ${shape.length} sizes but ${strides.length} strides`);
        const tensor: TensorRef = { kind: 'tensor', storage: storage as StorageRef, storageOffset: count(offset, 'a storage offset'), shape, stride: strides };
        return tensor;
      }
      case 'rebuild-parameter': {
        const [data, requiresGrad, hooks] = args;
        if (args.length < 3 || args.length > 4 || typeof requiresGrad !== 'boolean' || !(hooks instanceof PickleDict) || hooks.map.size !== 0) {
          throw bad(`calls ${what} with unexpected arguments`);
        }
        if (!(typeof data === 'object' && data !== null && (data as TensorRef).kind === 'tensor')) throw bad(`calls ${what} without a tensor`);
        return data;
      }
      default:
        throw bad(`calls ${what}, which is not callable here`);
    }
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const version = u8();
        if (version > 5) throw bad(`uses pickle protocol ${version}`);
        break;
      }
      case 0x95: // FRAME (protocol 4): a length hint only
        u64();
        break;
      case 0x2e: { // STOP
        const result = pop();
        if (marks.length > 0) throw bad('stops with a MARK still open');
        if (pos !== bytes.length) throw bad(`has ${bytes.length - pos} bytes after STOP`);
        checkShape(result, maxDepth, (what) => badCheckpoint(file, `${where} ${what}`));
        return result;
      }
      case 0x28: // MARK
        if (stack.length + marks.length >= maxStack) throw bad(`grows the stack past ${maxStack} items (maxStack)`);
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: { // LONG1
        const n = u8();
        if (n > 8) throw bad(`holds a ${n}-byte integer`);
        const raw = take(n);
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
        if (n > 0 && raw[n - 1] & 0x80) value -= 1n << BigInt(8 * n);
        push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x42: push(take(sized(u32())).slice()); break; // BINBYTES
      case 0x43: push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: push(take(sized(u64())).slice()); break; // BINBYTES8
      case 0x7d: push(new PickleDict()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x85: grow(1); push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        grow(2);
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        grow(3);
        const c = pop();
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b, c]));
        break;
      }
      case 0x74: { // TUPLE
        const items = popMark();
        grow(items.length);
        push(Object.freeze(items));
        break;
      }
      case 0x6c: { // LIST
        const items = popMark();
        grow(items.length);
        push(items);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        grow(items.length);
        if (items.length % 2 !== 0) throw bad('builds a dict from an odd number of items');
        const dict = new PickleDict();
        for (let i = 0; i < items.length; i += 2) dict.map.set(hashable(items[i]), items[i + 1]);
        push(dict);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        grow(1);
        listOf(top(), 'APPEND').push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        grow(items.length);
        const list = listOf(top(), 'APPENDS');
        // A loop, not push(...items): spreading a huge batch overflows the call stack.
        for (const item of items) list.push(item);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        grow(2);
        dictOf(top(), 'SETITEM').map.set(hashable(key), value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw bad('sets an odd number of dict items');
        grow(items.length);
        const dict = dictOf(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) dict.map.set(hashable(items[i]), items[i + 1]);
        break;
      }
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        global(module, name);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('uses STACK_GLOBAL without two strings');
        global(module, name);
        break;
      }
      case 0x51: push(persistentLoad(pop())); break; // BINPERSID
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = dictOf(top(), 'BUILD');
        if (!(state instanceof PickleDict) && state !== null) throw bad('sets object state that is not a dict');
        target.state = state;
        break;
      }
      case 0x69: { // INST: imports and calls in one opcode
        const module = line();
        const name = line();
        if (!allowedGlobal(module, name)) throw refusedGlobal(file, module, name);
        throw refusedOpcode(file, where, op, opAt);
      }
      default:
        throw refusedOpcode(file, where, op, opAt);
    }
  }
}

function refusedOpcode(file: string, where: string, op: number, at: number) {
  const name = NAMES[op] ?? 'unknown';
  return badCheckpoint(
    file,
    `${where} uses pickle opcode 0x${op.toString(16).padStart(2, '0')} (${name}) at byte ${at}, which torch.save does not write: refused, nothing executed`,
    REFUSED_HINT,
  );
}
