import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { PickleWriter } from '../../../test/fixtures/pickle-writer.js';
import { stateDictPickle } from '../../../test/fixtures/torch-checkpoint.js';
import { allowedGlobal } from './allowed-globals.js';
import { loadPickle, PickleDict, type TensorRef } from './pickle-vm.js';

const run = (bytes: Uint8Array | number[]) => loadPickle(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), '/x/pytorch_model.bin');
const refusal = (bytes: Uint8Array | number[]): string => {
  try {
    run(bytes);
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
