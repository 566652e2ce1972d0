import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../kernel/errors.js';
import { HOSTILE_MARKER, makeHostilePickles, makeTinyModel, writeRepoFiles } from '../../../test/fixtures/tiny-models.js';
import { makeExhaustingPickles } from '../../../test/fixtures/hostile-pickles.js';
import { checkpointZip, makeTorchCheckpoint, torchCheckpointFromTensors, type FixtureStorage } from '../../../test/fixtures/torch-checkpoint.js';
import { PickleWriter } from '../../../test/fixtures/pickle-writer.js';
import { writeStoredZip } from '../../../test/fixtures/zip-writer.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import { readTorchCheckpoint } from './read-torch-checkpoint.js';
import { torchCheckpointToSafetensors } from './torch-to-safetensors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'torch-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function put(bytes: Uint8Array, name = 'pytorch_model.bin'): Promise<string> {
  const folder = path.join(dir, `case-${n++}`);
  await writeRepoFiles(folder, { [name]: bytes });
  return path.join(folder, name);
}

async function refusal(bytes: Uint8Array): Promise<string> {
  const file = await put(bytes);
  const error = await readTorchCheckpoint(file).then(
    async (checkpoint) => {
      await checkpoint.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(isModelImportError(error), `expected a refusal, got ${String(error)}`).toBe(true);
  if (!isModelImportError(error)) throw new Error('unreachable');
  expect(error.code).toBe('BAD_INPUT');
  expect(error.message).not.toContain('\n');
  expect(error.message.startsWith('pytorch_model.bin')).toBe(true);
  expect(error.hint).toBeTruthy();
  return error.message;
}

/** Byte equality without vitest's slow element-wise diff on large arrays. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const f32 = (...values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe('readTorchCheckpoint on the tiny-model fixtures', () => {
  for (const options of [
    { family: 'qwen2' as const },
    { family: 'qwen2_moe' as const, dtype: 'f16' as const },
    { family: 'qwen3' as const, dtype: 'f32' as const, tied: false },
  ]) {
    it(`reads the same tensors as the safetensors fixture (${JSON.stringify(options)})`, async () => {
      const bin = makeTinyModel({ seed: 5, ...options, weightsFormat: 'pytorch-bin' });
      const st = makeTinyModel({ seed: 5, ...options });
      const binFile = await put(bin['pytorch_model.bin']);
      const stFile = await put(st['model.safetensors'], 'model.safetensors');
      const checkpoint = await readTorchCheckpoint(binFile);
      const reader = await SafetensorsReader.open(stFile);
      try {
        expect(checkpoint.tensors.map((t) => t.name).sort()).toEqual(reader.tensors.map((t) => t.name).sort());
        expect(checkpoint.tensors[0].name).toBe('model.embed_tokens.weight'); // state-dict order kept
        for (const tensor of checkpoint.tensors) {
          const info = reader.get(tensor.name);
          expect([tensor.dtype, tensor.shape, tensor.contiguous]).toEqual([info.dtype, info.shape, true]);
          expect(same(await checkpoint.readTensorBytes(tensor), await reader.read(info)), tensor.name).toBe(true);
        }
      } finally {
        await checkpoint.close();
        await reader.close();
      }
      // Converting gives the very bytes of the safetensors fixture.
      const out = path.join(path.dirname(binFile), 'converted.safetensors');
      await torchCheckpointToSafetensors(binFile, out);
      expect(same(await readFile(out), st['model.safetensors'])).toBe(true);
    });
  }

  it('reads sharded pytorch_model-0000k-of-0000n.bin files and zip64 archives', async () => {
    const files = makeTinyModel({ seed: 2, weightsFormat: 'pytorch-bin', shards: 2 });
    const index = JSON.parse(new TextDecoder().decode(files['pytorch_model.bin.index.json'])) as { weight_map: Record<string, string> };
    const folder = path.join(dir, 'sharded');
    await writeRepoFiles(folder, files);
    for (const shard of new Set(Object.values(index.weight_map))) {
      const checkpoint = await readTorchCheckpoint(path.join(folder, shard));
      expect(checkpoint.tensors.every((t) => index.weight_map[t.name] === shard)).toBe(true);
      await checkpoint.close();
    }
    const tensors = [{ name: 'w', dtype: 'F32' as const, shape: [2, 2], data: f32(1, 2, 3, 4) }];
    const checkpoint = await readTorchCheckpoint(await put(torchCheckpointFromTensors(tensors, { zip64: true, archiveName: 'pytorch_model' })));
    expect(await checkpoint.readTensorBytes(checkpoint.tensors[0])).toEqual(f32(1, 2, 3, 4));
    await checkpoint.close();
  });
});

describe('views, shared storages and parameters', () => {
  it('materialises strided views correctly and keeps shared storages shared', async () => {
    const storage: FixtureStorage = { key: '0', dtype: 'F32', data: f32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) };
    const bytes = makeTorchCheckpoint(
      [
        { name: 'a', storage: '0', shape: [3, 4] },
        { name: 'a_t', storage: '0', shape: [4, 3], stride: [1, 4] }, // a.T
        { name: 'row1', storage: '0', storageOffset: 4, shape: [4] }, // a[1]
        { name: 'col2', storage: '0', storageOffset: 2, shape: [3], stride: [4] }, // a[:, 2]
        { name: 'expanded', storage: '0', storageOffset: 5, shape: [2, 3], stride: [0, 1] },
        { name: 'param', storage: '0', shape: [12], parameter: true },
        { name: 'scalar', storage: '0', storageOffset: 11, shape: [] },
        { name: 'empty', storage: '0', shape: [0, 5] },
      ],
      [storage],
    );
    const checkpoint = await readTorchCheckpoint(await put(bytes));
    try {
      const get = async (name: string) => {
        const tensor = checkpoint.tensors.find((t) => t.name === name)!;
        return Array.from(new Float32Array((await checkpoint.readTensorBytes(tensor)).slice().buffer));
      };
      expect(await get('a')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await get('a_t')).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
      expect(await get('row1')).toEqual([4, 5, 6, 7]);
      expect(await get('col2')).toEqual([2, 6, 10]);
      expect(await get('expanded')).toEqual([5, 6, 7, 5, 6, 7]);
      expect(await get('param')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await get('scalar')).toEqual([11]);
      expect(await get('empty')).toEqual([]);
      const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
      expect(byName.get('a_t')!.contiguous).toBe(false);
      expect(byName.get('row1')!.contiguous).toBe(true);
      expect(new Set(checkpoint.tensors.map((t) => t.storageKey))).toEqual(new Set(['0']));
      const chunks: number[] = [];
      for await (const chunk of checkpoint.tensorChunks(byName.get('a_t')!, { chunkBytes: 10 })) chunks.push(chunk.length);
      expect(chunks).toEqual([8, 8, 8, 8, 8, 8]);
    } finally {
      await checkpoint.close();
    }
  });
});

describe('hostile pickles', () => {
  const hostile = makeHostilePickles();
  const reaching: Record<string, string> = {
    'os-system': 'os.system',
    'posix-system': 'posix.system',
    'nt-system': 'nt.system',
    'builtins-eval': 'builtins.eval',
    'builtins-exec': 'builtins.exec',
    '__builtin__-eval': '__builtin__.eval',
    'subprocess-popen': 'subprocess.Popen',
    'runpy-run-code': 'runpy._run_code',
    'numpy-reconstruct': 'numpy.core.multiarray._reconstruct',
    'torch-load': 'torch.load',
    'lookalike-module': 'torch.os.system',
    'dotted-attribute': 'torch._utils._rebuild_tensor_v2.__globals__',
    'collections-lookalike': 'collections.os.system',
    'getattr-on-allowed': 'builtins.getattr',
    'reduce-in-state-dict': 'os.system',
    'reduce-in-tensor-args': 'subprocess.check_output',
    'stack-global': 'os.system',
    'inst-opcode': 'os.system',
    'global-in-persistent-id': 'os.system',
  };

  it('covers every hostile fixture', () => {
    expect(Object.keys(hostile).sort()).toEqual([...Object.keys(reaching), 'obj-opcode', 'storage-key-escape', 'ext-opcode'].sort());
  });

  for (const [name, bytes] of Object.entries(hostile)) {
    it(`refuses ${name} with one line, executing nothing`, async () => {
      const message = await refusal(bytes);
      if (reaching[name]) expect(message).toBe(`pytorch_model.bin reaches for ${reaching[name]}: refused, nothing executed`);
      else expect(message).toMatch(/refused/);
      expect(existsSync(HOSTILE_MARKER)).toBe(false);
    });
  }

  it('names the opcode for calls without GLOBAL', async () => {
    expect(await refusal(hostile['ext-opcode'])).toMatch(/opcode 0x82 \(EXT1\) at byte 2, which torch.save does not write: refused, nothing executed/);
    expect(await refusal(hostile['obj-opcode'])).toMatch(/reaches for os.system/); // its GLOBAL is refused first
    expect(await refusal(hostile['storage-key-escape'])).toMatch(/names storage "..\/..\/..\/..\/etc\/passwd", which is not a storage key: refused/);
  });
});

describe('pickles built to exhaust the reader', () => {
  const x = makeExhaustingPickles();
  const zipped = (pickle: Uint8Array) => checkpointZip(pickle, []);

  it('refuses self-referencing state dicts before the state-dict walk sees them', async () => {
    expect(await refusal(zipped(x.selfDict()))).toBe('pytorch_model.bin: archive/data.pkl holds a dict that contains itself (a reference cycle): refused');
    expect(await refusal(zipped(x.selfState()))).toMatch(/holds a dict that contains itself/);
    expect(await refusal(zipped(x.cycleKey()))).toMatch(/contains itself \(a reference cycle\)/);
  });

  it('refuses a key nested 100k deep with a typed error, not a stack overflow', async () => {
    expect(await refusal(zipped(x.deepKey(100_000)))).toBe('pytorch_model.bin: archive/data.pkl nests containers deeper than 64 levels (maxDepth): refused');
  });

  it('names the limit a long string exceeds at the default limits', async () => {
    expect(await refusal(zipped(x.longString(2 << 20)))).toMatch(/over the limit of 1048576 bytes \(maxStringBytes\)/);
  });

  it('a non-string key is described, never stringified by walking it', async () => {
    expect(await refusal(zipped(x.laughs(60)))).toBe('pytorch_model.bin: has a state-dict key a tuple of 2 that is not a string');
  });
});

describe('damaged and unsupported archives', () => {
  const good = torchCheckpointFromTensors([{ name: 'w', dtype: 'F32', shape: [4], data: f32(1, 2, 3, 4) }]);

  it('truncated zips', async () => {
    expect(await refusal(good.subarray(0, good.length >> 1))).toMatch(/truncated: no end-of-central-directory record/);
    expect(await refusal(good.subarray(0, good.length - 5))).toMatch(/truncated/);
    expect(await refusal(good.subarray(0, 10))).toMatch(/truncated/);
  });

  it('not a zip, a legacy torch file, an empty file', async () => {
    expect(await refusal(new TextEncoder().encode('hello, this is not a checkpoint at all, just text'))).toMatch(/is not a zip archive/);
    expect(await refusal(new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]))).toMatch(/legacy \(pre-1.6\) torch.save file/);
    expect(await refusal(new Uint8Array(0))).toMatch(/not a zip archive/);
  });

  it('compressed, misnamed, or inconsistent entries', async () => {
    const deflated = good.slice();
    // Set method = 8 (deflate) in the central directory entry of data.pkl.
    const cd = Buffer.from(deflated).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    deflated[cd + 10] = 8;
    expect(await refusal(deflated)).toMatch(/zip entry archive\/data.pkl is compressed/);

    const escape = writeStoredZip([{ name: '../evil/data.pkl', data: new Uint8Array([0x80, 2, 0x4e, 0x2e]) }]);
    expect(await refusal(escape)).toMatch(/zip entry "..\/evil\/data.pkl" has an unsafe name/);

    const noPickle = writeStoredZip([{ name: 'archive/version', data: new TextEncoder().encode('3\n') }]);
    expect(await refusal(noPickle)).toMatch(/has no <archive>\/data.pkl/);

    const storage: FixtureStorage = { key: '0', dtype: 'F32', data: f32(1, 2, 3) }; // declared numel comes from data length
    const tooFar = makeTorchCheckpoint([{ name: 'w', storage: '0', storageOffset: 1, shape: [3] }], [storage]);
    expect(await refusal(tooFar)).toMatch(/tensor "w" reaches element 3 of storage 0, which has 3/);

    const pickle = new PickleWriter().proto(2).global('collections', 'OrderedDict').raw(0x29).reduce();
    pickle.str('w').global('torch._utils', '_rebuild_tensor_v2').mark();
    pickle.mark().str('storage').global('torch', 'FloatStorage').str('7').str('cpu').int(4).tuple(5).raw(0x51);
    pickle.int(0).int(4).tuple(1).int(1).tuple(1).raw(0x89).global('collections', 'OrderedDict').raw(0x29).reduce().tuple(6).reduce().raw(0x73);
    const missing = checkpointZip(pickle.stop(), [{ key: '0', dtype: 'F32', data: f32(1, 2, 3, 4) }]);
    expect(await refusal(missing)).toMatch(/refers to storage 7, which the archive does not hold/);

    const bigEndian = torchCheckpointFromTensors([{ name: 'w', dtype: 'F32', shape: [1], data: f32(1) }], {
      extraEntries: { byteorder: new TextEncoder().encode('big') },
    });
    expect(await refusal(bigEndian)).toMatch(/"big" byte order/);

    const notTensor = checkpointZip(new PickleWriter().proto(2).emptyDict().str('epoch').int(3).raw(0x73).stop(), []);
    expect(await refusal(notTensor)).toMatch(/entry "epoch" is not a tensor/);

    const list = checkpointZip(new PickleWriter().proto(2).raw(0x5d).stop(), []);
    expect(await refusal(list)).toMatch(/does not hold a state dict/);

    const corrupt = good.slice();
    const pkl = Buffer.from(corrupt).indexOf(Buffer.from('collections'));
    corrupt[pkl] ^= 0x20;
    expect(await refusal(corrupt)).toMatch(/fails its CRC-32 check/);
  });

  it('the reader writes nothing next to the checkpoint', async () => {
    const file = await put(makeHostilePickles()['os-system']);
    await readTorchCheckpoint(file).catch(() => undefined);
    expect(await readdir(path.dirname(file))).toEqual(['pytorch_model.bin']);
  });
});
