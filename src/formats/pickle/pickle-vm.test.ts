import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { PickleWriter } from '../../../test/fixtures/pickle-writer.js';
import { makeExhaustingPickles } from '../../../test/fixtures/hostile-pickles.js';
import { stateDictPickle } from '../../../test/fixtures/torch-checkpoint.js';
import { allowedGlobal } from './allowed-globals.js';
import { DEFAULT_PICKLE_LIMITS, loadPickle, PickleDict, type PickleLimits, type TensorRef } from './pickle-vm.js';

const run = (bytes: Uint8Array | number[], limits?: PickleLimits) =>
  loadPickle(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), '/x/pytorch_model.bin', 'archive/data.pkl', limits);
const refusal = (bytes: Uint8Array | number[], limits?: PickleLimits): string => {
  try {
    run(bytes, limits);
  } catch (error) {
    expect(isModelImportError(error) && error.code === 'BAD_INPUT').toBe(true);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};
const ascii = (text: string) => Array.from(new TextEncoder().encode(text));

describe('loadPickle', () => {
  it('builds the data of a torch.save state dict, with shared storages as one reference', () => {
    const storages = new Map([['0', { key: '0', dtype: 'BF16' as const, data: new Uint8Array(24) }]]);
    const root = run(
      stateDictPickle(
        [
          { name: 'a.weight', storage: '0', shape: [3, 4] },
          { name: 'b.weight', storage: '0', shape: [4, 3], stride: [1, 4], parameter: true },
        ],
        storages,
      ),
    );
    expect(root).toBeInstanceOf(PickleDict);
    const dict = root as PickleDict;
    expect([...dict.map.keys()]).toEqual(['a.weight', 'b.weight']);
    const a = dict.map.get('a.weight') as TensorRef;
    const b = dict.map.get('b.weight') as TensorRef;
    expect(a).toMatchObject({ kind: 'tensor', storageOffset: 0, shape: [3, 4], stride: [4, 1] });
    expect(a.storage).toEqual({ kind: 'storage', key: '0', dtype: 'BF16', location: 'cpu', numel: 12 });
    expect(b.storage).toBe(a.storage);
    expect(b.stride).toEqual([1, 4]);
    // state_dict._metadata arrives through BUILD as plain data.
    expect(((dict.state as PickleDict).map.get('_metadata') as PickleDict).map.get('model')).toBeInstanceOf(PickleDict);
  });

  it('handles protocol 4/5 framing, MEMOIZE, short strings, LONG1, floats, lists and dicts', () => {
    const bytes = [
      0x80, 4, 0x95, 30, 0, 0, 0, 0, 0, 0, 0, // PROTO 4, FRAME
      0x5d, 0x94, // EMPTY_LIST, MEMOIZE -> 0
      0x28, // MARK
      0x8c, 2, ...ascii('hi'), 0x94, // SHORT_BINUNICODE 'hi', MEMOIZE -> 1
      0x8a, 5, 0, 0, 0, 0, 1, // LONG1 2^32
      0x8a, 1, 0xff, // LONG1 -1
      0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, // 9-byte LONG1 refused below; replaced
    ];
    expect(refusal([...bytes, 0x2e])).toMatch(/holds a 9-byte integer/);
    const ok = [
      0x80, 4, 0x95, 30, 0, 0, 0, 0, 0, 0, 0,
      0x5d, 0x94, 0x28, 0x8c, 2, ...ascii('hi'), 0x94, 0x8a, 5, 0, 0, 0, 0, 1, 0x8a, 1, 0xff,
      0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // BINFLOAT 1.5
      0x68, 1, // BINGET 1 -> 'hi'
      0x4e, 0x88, 0x89, // None True False
      0x28, 0x8c, 1, ...ascii('k'), 0x4b, 7, 0x64, // MARK 'k' 7 DICT
      0x65, // APPENDS
      0x2e,
    ];
    const list = run(ok) as unknown[];
    expect(list.slice(0, 8)).toEqual(['hi', 2 ** 32, -1, 1.5, 'hi', null, true, false]);
    expect((list[8] as PickleDict).map.get('k')).toBe(7);
  });

  it('refuses malformed pickles with a clear error', () => {
    expect(refusal([0x80, 2, 0x4b])).toMatch(/ends in the middle of an instruction \(truncated\)/);
    expect(refusal([0x80, 2, 0x4e])).toMatch(/ends in the middle of an instruction/);
    expect(refusal([0x80, 2, 0x68, 3, 0x2e])).toMatch(/memo slot 3 that was never stored/);
    expect(refusal([0x80, 2, 0x2e])).toMatch(/pops from an empty stack/);
    expect(refusal([0x80, 2, 0x4e, 0x2e, 0x4e])).toMatch(/1 bytes after STOP/);
    expect(refusal([0x80, 2, 0x28, 0x4e, 0x2e])).toMatch(/pops from an empty stack|MARK still open/);
    expect(refusal([0x80, 2, 0x4e, 0x4e, 0x4e, 0x73, 0x2e])).toMatch(/SETITEM to something that is not a dict/);
    expect(refusal([0x80, 2, 0x58, 2, 0, 0, 0, 0xff, 0xfe, 0x2e])).toMatch(/not valid UTF-8/);
    expect(refusal([0x80, 9, 0x2e])).toMatch(/protocol 9/);
    expect(refusal([0x80, 2, 0x49, ...ascii('1\n'), 0x2e])).toMatch(/opcode 0x49 \(INT\)/);
    // OrderedDict called with arguments, a tensor with backward hooks, an allowed class used as a callable.
    const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').str('x').tuple(1).reduce().stop();
    expect(refusal(w)).toMatch(/calls collections.OrderedDict with arguments/);
    const storage = new PickleWriter().proto(2).global('torch', 'FloatStorage').raw(0x29).reduce().stop();
    expect(refusal(storage)).toMatch(/calls torch.FloatStorage, which is not callable here/);
  });

  it('accepts only exact allow-listed globals', () => {
    expect(allowedGlobal('collections', 'OrderedDict')).toEqual({ kind: 'ordered-dict' });
    expect(allowedGlobal('torch', 'BFloat16Storage')).toEqual({ kind: 'storage-type', dtype: 'BF16' });
    for (const [module, name] of [
      ['collections', 'OrderedDict.__init__'], ['collections ', 'OrderedDict'], ['torch', '_utils._rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_tensor'], ['os', 'system'], ['torch', 'Storage'], ['builtins', 'dict'],
    ]) expect(allowedGlobal(module, name), `${module}.${name}`).toBeUndefined();
    expect(refusal([0x80, 2, 0x63, ...ascii('torch\nUntypedStorage\n'), 0x2e])).toBe(
      'pytorch_model.bin reaches for torch.UntypedStorage: refused, nothing executed',
    );
  });
});

describe('loadPickle against pickles built to exhaust it', () => {
  const x = makeExhaustingPickles();
  const D = DEFAULT_PICKLE_LIMITS;

  it('documents its default limits', () => {
    expect(D).toEqual({ maxStack: 1_000_000, maxMemo: 1_000_000, maxElements: 4_000_000, maxDepth: 64, maxStringBytes: 1 << 20 });
  });

  it('bounds the total elements put into containers (APPENDS, SETITEMS)', () => {
    expect(refusal(x.appends(1001), { maxElements: 1000 })).toBe(
      'pytorch_model.bin: archive/data.pkl builds containers holding more than 1000 elements in all (maxElements) (at byte 1005)',
    );
    expect(refusal(x.setitems(501), { maxElements: 1000 })).toMatch(/more than 1000 elements in all \(maxElements\)/);
    expect((run(x.appends(1000), { maxElements: 1000 }) as unknown[]).length).toBe(1000);
    // One APPENDS of 300k items at the default limits: a spread push(...items) overflowed the call stack here.
    expect((run(x.appends(300_000)) as unknown[]).length).toBe(300_000);
  });

  it('bounds the stack, counting open MARKs (DUP and MARK floods)', () => {
    expect(refusal(x.dup(1000), { maxStack: 1000 })).toMatch(/grows the stack past 1000 items \(maxStack\) \(at byte 1002\)$/);
    expect(refusal(x.marks(1001), { maxStack: 1000 })).toMatch(/grows the stack past 1000 items \(maxStack\)/);
  });

  it('bounds the memo (BINPUT flood) and string length', () => {
    expect(refusal(x.memo(1001), { maxMemo: 1000 })).toMatch(/grows the memo past 1000 entries \(maxMemo\)/);
    expect(refusal(x.longString(D.maxStringBytes + 1))).toMatch(/holds a 1048577-byte string, over the limit of 1048576 bytes \(maxStringBytes\)/);
    expect(run(x.longString(1000))).toBe('a'.repeat(1000));
  });

  it('refuses self-referencing lists, dicts and dict state instead of returning a cycle', () => {
    expect(refusal(x.selfList())).toBe('pytorch_model.bin: archive/data.pkl holds a list that contains itself (a reference cycle): refused');
    expect(refusal(x.selfDict())).toMatch(/holds a dict that contains itself \(a reference cycle\): refused$/);
    expect(refusal(x.cycleKey())).toMatch(/that contains itself \(a reference cycle\): refused$/);
    expect(refusal(x.selfState())).toMatch(/holds a dict that contains itself/);
  });

  it('caps nesting depth, however the nesting was built', () => {
    expect(refusal(x.deepList(D.maxDepth + 1))).toBe('pytorch_model.bin: archive/data.pkl nests containers deeper than 64 levels (maxDepth): refused');
    expect(run(x.deepList(D.maxDepth))).toBeInstanceOf(Array);
    expect(refusal(x.deepList(200_000))).toMatch(/deeper than 64 levels \(maxDepth\)/);
  });

  it('walks shared structure once: 2^60 leaves by naive walking load instantly', () => {
    const dict = run(x.laughs(60)) as PickleDict;
    expect(dict.map.size).toBe(1);
  });
});
