import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { planSafetensors } from '../../../src/index.js';
import { tempDir, listTree } from '../../../test/support/temp.js';
import { HOSTILE_MARKER, makeHostilePickles, tinyTensors } from '../../../test/fixtures/tiny-models.js';
import { familyFor } from './families/family-map.js';
import { convertFolder, editJson, editSafetensors, readAllTensors, writeTiny } from '../test/harness.js';
import { qwen25_05b } from '../test/configs.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-convert-'));
});
afterEach(async () => cleanup());

const raw = () => path.join(root, 'raw');
const out = () => path.join(root, 'out');

async function failure(run: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await run;
  } catch (error) {
    if (!isModelImportError(error)) throw error;
    expect(error.message).not.toContain('\n');
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a ModelImportError');
}

async function ino(file: string): Promise<number> {
  return (await stat(file)).ino;
}

describe('convert: no dtype change links the files (no weight byte copied)', () => {
  it('single file: same inode, every component reported, no conversion task', async () => {
    await writeTiny(raw(), { seed: 3 });
    const { result, events } = await convertFolder(raw(), out());
    expect(await ino(path.join(out(), 'model.safetensors'))).toBe(await ino(path.join(raw(), 'model.safetensors')));
    expect(events.some((e) => e.type === 'task-start')).toBe(false);
    expect(result.components.map((c) => [c.component, c.status])).toEqual([
      ['weights', 'ok'],
      ['config', 'ok'],
      ['generation-config', 'ok'],
      ['tokenizer', 'ok'],
      ['license', 'ok'],
    ]);
    expect(events.filter((e) => e.type === 'component')).toHaveLength(5);
    expect(result.components[0].detail).toMatch(/linked \(no copy\)/);
    expect(result.dtype).toBe('bf16');
    const config = JSON.parse(await readFile(path.join(raw(), 'config.json'), 'utf8'));
    const { dims } = familyFor('Qwen2ForCausalLM')!.readDims(config);
    expect(result.parameterCount).toBe(familyFor('Qwen2ForCausalLM')!.countParameters(dims));
    for (const file of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'LICENSE']) {
      expect(await readFile(path.join(out(), file))).toEqual(await readFile(path.join(raw(), file)));
    }
    expect(existsSync(path.join(out(), 'README.md'))).toBe(false);
  });

  it('sharded: index and every shard linked', async () => {
    await writeTiny(raw(), { seed: 4, shards: 3 });
    const { result } = await convertFolder(raw(), out());
    const shards = (await readdir(raw())).filter((f) => f.endsWith('.safetensors'));
    expect(shards).toHaveLength(3);
    for (const file of [...shards, 'model.safetensors.index.json']) {
      expect(await ino(path.join(out(), file))).toBe(await ino(path.join(raw(), file)));
    }
    expect(result.components[0].detail).toMatch(/3 file\(s\) linked/);
  });

  it('every family: qwen3, qwen2_moe, qwen3_moe', async () => {
    for (const family of ['qwen3', 'qwen2_moe', 'qwen3_moe'] as const) {
      const dir = path.join(root, family);
      await writeTiny(path.join(dir, 'raw'), { family, seed: 5 });
      const { result } = await convertFolder(path.join(dir, 'raw'), path.join(dir, 'out'));
      expect(result.components[0].status).toBe('ok');
      expect(result.parameterCount).toBeGreaterThan(0);
    }
  });

  it('a file within --max-shard-size and already in the target dtype stays linked', async () => {
    await writeTiny(raw(), { seed: 4 });
    const { result } = await convertFolder(raw(), out(), { maxShardSize: 10e6, dtype: 'bf16' });
    expect(await ino(path.join(out(), 'model.safetensors'))).toBe(await ino(path.join(raw(), 'model.safetensors')));
    expect(result.details).toMatchObject({ weights: 'linked' });
  });
});

describe('convert: across devices', () => {
  it.runIf(existsSync('/dev/shm'))('copies with a warning and a progress task when linking fails with EXDEV', async () => {
    const shm = await mkdtemp(path.join('/dev/shm', 'arch-qwen-'));
    try {
      await writeTiny(shm, { seed: 19 });
      if ((await stat(shm)).dev === (await stat(root)).dev) return; // same device here: nothing to prove
      const { result, events } = await convertFolder(shm, out());
      expect(await readFile(path.join(out(), 'model.safetensors'))).toEqual(await readFile(path.join(shm, 'model.safetensors')));
      expect(await ino(path.join(out(), 'model.safetensors'))).not.toBe(await ino(path.join(shm, 'model.safetensors')));
      expect(result.components[0].status).toBe('warning');
      expect(result.components[0].warnings.join()).toMatch(/copied instead of hard-linked/);
      expect(events.find((e) => e.type === 'task-start')).toMatchObject({ label: 'copy model.safetensors', group: 'convert' });
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});

describe('convert: Qwen2.5-0.5B-shaped header only (sparse file, nothing read)', () => {
  it('describes 494,032,768 parameters, bf16', async () => {
    const config = qwen25_05b();
    const family = familyFor('Qwen2ForCausalLM')!;
    const { dims } = family.readDims(config);
    const specs = family.tensorGroups(dims).map((g) => ({ ...g.layouts[0][0], dtype: 'BF16' }));
    const plan = planSafetensors(specs, { format: 'pt' }, 'model.safetensors');
    await mkdir(raw());
    await writeFile(path.join(raw(), 'config.json'), JSON.stringify(config));
    await writeFile(path.join(raw(), 'model.safetensors'), plan.prefix);
    await truncate(path.join(raw(), 'model.safetensors'), plan.fileSize); // sparse: no data blocks
    expect(plan.fileSize).toBe(988_065_536 + plan.dataStart);
    const { result } = await convertFolder(raw(), out());
    expect(result.parameterCount).toBe(494_032_768);
    expect(result.dtype).toBe('bf16');
    expect(result.components.find((c) => c.component === 'tokenizer')?.status).toBe('missing');
  });
});

describe('convert: dtype', () => {
  it('bf16 -> f32 widens exactly, updates config dtype, and f32 -> bf16 gives the original bytes back', async () => {
    await writeTiny(raw(), { seed: 6 });
    const { result, events } = await convertFolder(raw(), out(), { dtype: 'f32' });
    expect(result.dtype).toBe('f32');
    const start = events.find((e) => e.type === 'task-start');
    expect(start).toMatchObject({ label: 'convert weights', group: 'convert' });
    const end = events.find((e) => e.type === 'task-end');
    expect(end).toMatchObject({ status: 'done', done: (start as { total: number }).total });
    const original = await readAllTensors(raw(), ['model.safetensors']);
    const widened = await readAllTensors(out(), ['model.safetensors']);
    expect([...widened.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, t] of original) {
      const w = widened.get(name)!;
      expect(w.dtype).toBe('F32');
      const bits = new Uint32Array(w.bytes.buffer, w.bytes.byteOffset, w.bytes.length / 4);
      const half = new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 2);
      expect(bits.every((b, i) => b === half[i] << 16 >>> 0)).toBe(true);
    }
    const config = JSON.parse(await readFile(path.join(out(), 'config.json'), 'utf8'));
    const before = JSON.parse(await readFile(path.join(raw(), 'config.json'), 'utf8'));
    expect(config).toEqual({ ...before, torch_dtype: 'float32' });

    const back = path.join(root, 'back');
    await convertFolder(out(), back, { dtype: 'bf16' });
    const roundTrip = await readAllTensors(back, ['model.safetensors']);
    for (const [name, t] of original) expect(roundTrip.get(name)!.bytes).toEqual(t.bytes);
    expect(JSON.parse(await readFile(path.join(back, 'config.json'), 'utf8'))).toEqual(before);
  });

  it('bf16 -> f16 converts ordinary values and refuses an overflow naming the tensor', async () => {
    await writeTiny(raw(), { seed: 7 });
    const { result } = await convertFolder(raw(), out(), { dtype: 'f16' });
    expect(result.dtype).toBe('f16');
    await editSafetensors(path.join(raw(), 'model.safetensors'), (tensors) =>
      tensors.map((t) => {
        if (t.name !== 'model.layers.1.mlp.down_proj.weight') return t;
        const data = t.data.slice();
        new DataView(data.buffer).setUint16(10, 0x4f80, true); // bf16 4.3e9
        return { ...t, data };
      }),
    );
    const { code, message } = await failure(convertFolder(raw(), path.join(root, 'out2'), { dtype: 'f16' }));
    expect(code).toBe('CONVERSION_FAILED');
    expect(message).toMatch(/model\.layers\.1\.mlp\.down_proj\.weight.*beyond float16's range/);
    expect(existsSync(path.join(root, 'out2', 'model.safetensors'))).toBe(false);
  });

  it('warns when config.json dtype disagrees with the weights', async () => {
    await writeTiny(raw(), { seed: 8, dtype: 'f32' });
    await editJson(path.join(raw(), 'config.json'), (c) => (c.torch_dtype = 'bfloat16'));
    const { result } = await convertFolder(raw(), out());
    expect(result.components[0].status).toBe('warning');
    expect(result.components[0].warnings.join()).toMatch(/config.json says bf16 but the weights are f32/);
  });
});

describe('convert: resharding', () => {
  it('splits to --max-shard-size, writes an index, and preserves every tensor byte', async () => {
    await writeTiny(raw(), { seed: 9, tied: false });
    const max = 64 * 1024;
    const { result } = await convertFolder(raw(), out(), { maxShardSize: max });
    const index = JSON.parse(await readFile(path.join(out(), 'model.safetensors.index.json'), 'utf8'));
    const shards = [...new Set(Object.values(index.weight_map) as string[])].sort();
    expect(shards.length).toBeGreaterThan(2);
    shards.forEach((s, k) => expect(s).toBe(`model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`));
    const original = await readAllTensors(raw(), ['model.safetensors']);
    const resharded = await readAllTensors(out(), shards);
    expect(resharded.size).toBe(original.size);
    let total = 0;
    for (const [name, t] of original) {
      expect(resharded.get(name)!.bytes).toEqual(t.bytes);
      expect(index.weight_map[name]).toBe(resharded.get(name)!.file);
      total += t.bytes.length;
    }
    expect(index.metadata.total_size).toBe(total);
    const sizes = new Map<string, number>();
    for (const t of resharded.values()) sizes.set(t.file, (sizes.get(t.file) ?? 0) + t.bytes.length);
    const oversized = [...resharded.values()].filter((t) => t.bytes.length > max).length;
    expect([...sizes.values()].filter((s) => s > max).length).toBeLessThanOrEqual(oversized);
    expect(result.details).toMatchObject({ weights: 'rewritten' });
    expect(existsSync(path.join(out(), 'model.safetensors'))).toBe(false);
  });
});

describe('convert: pytorch_model*.bin', () => {
  it('converts to safetensors equal to the safetensors fixture (single and sharded)', async () => {
    const expected = new Map(tinyTensors({ seed: 10 }).map((t) => [t.name, t]));
    for (const shards of [1, 2]) {
      const dir = path.join(root, `bin${shards}`);
      await writeTiny(path.join(dir, 'raw'), { seed: 10, weightsFormat: 'pytorch-bin', shards });
      const { result } = await convertFolder(path.join(dir, 'raw'), path.join(dir, 'out'));
      const files = (await readdir(path.join(dir, 'out'))).filter((f) => f.endsWith('.safetensors'));
      expect(files).toHaveLength(shards);
      const tensors = await readAllTensors(path.join(dir, 'out'), files);
      expect(tensors.size).toBe(expected.size);
      for (const [name, t] of expected) {
        expect(tensors.get(name)!.dtype).toBe(t.dtype);
        expect(tensors.get(name)!.bytes).toEqual(t.data);
      }
      expect(result.components[0].detail).toMatch(/pytorch_model\*\.bin converted to safetensors/);
      expect((await readdir(path.join(dir, 'out'))).some((f) => f.endsWith('.bin'))).toBe(false);
    }
  });

  it('refuses every hostile pickle with a one-line error; nothing runs, nothing is written outside outDir', async () => {
    if (existsSync(HOSTILE_MARKER)) await unlink(HOSTILE_MARKER);
    await writeTiny(raw(), { seed: 11, weightsFormat: 'pytorch-bin' });
    const before = await listTree(root);
    for (const [name, bytes] of Object.entries(makeHostilePickles())) {
      await writeFile(path.join(raw(), 'pytorch_model.bin'), bytes);
      const target = path.join(root, `out-${name}`);
      const { code, message } = await failure(convertFolder(raw(), target));
      expect(code).toBe('BAD_INPUT');
      expect(message).toMatch(/^pytorch_model\.bin.*refused/);
      expect((await listTree(target)).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
    }
    expect(existsSync(HOSTILE_MARKER)).toBe(false);
    const after = (await listTree(root)).filter((f) => !f.startsWith('out-'));
    expect(after).toEqual(before);
  });
});

describe('convert: hostile safetensors', () => {
  const header = (json: string, data = 0, declared?: bigint) => {
    const text = new TextEncoder().encode(json);
    const bytes = new Uint8Array(8 + text.length + data);
    new DataView(bytes.buffer).setBigUint64(0, declared ?? BigInt(text.length), true);
    bytes.set(text, 8);
    return bytes;
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['header length 2^60', header('{}', 0, 1n << 60n), /header length 1152921504606846976 exceeds/],
    ['overlapping offsets', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12), /overlap/],
    ['offsets outside the file', header('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', 8), /ends at byte|truncated|runs past/],
    ['unknown dtype', header('{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}', 8), /unknown dtype "Q4"/],
    ['shape overflow', header('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', 8), /needs .* bytes/],
    ['duplicate names', header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(name, async () => {
      await writeTiny(raw(), { seed: 12 });
      await writeFile(path.join(raw(), 'model.safetensors'), bytes);
      const before = await listTree(root);
      const { code, message } = await failure(convertFolder(raw(), out()));
      expect(code).toBe('BAD_INPUT');
      expect(message).toMatch(pattern);
      expect((await listTree(root)).filter((f) => !f.startsWith('out'))).toEqual(before);
      expect(await listTree(out())).toEqual([]);
    });
  }

  it('an index naming a shard outside the folder is refused before anything is read', async () => {
    await writeTiny(raw(), { seed: 13, shards: 2 });
    await editJson(path.join(raw(), 'model.safetensors.index.json'), (index) => {
      (index.weight_map as Record<string, string>)['model.norm.weight'] = '../outside.safetensors';
    });
    const { code } = await failure(convertFolder(raw(), out()));
    expect(code).toBe('UNSAFE_PATH');
    expect(await listTree(out())).toEqual([]);
  });

  it('an index that disagrees with the shard headers is refused', async () => {
    await writeTiny(raw(), { seed: 13, shards: 2 });
    await editJson(path.join(raw(), 'model.safetensors.index.json'), (index) => {
      const map = index.weight_map as Record<string, string>;
      map['model.norm.weight'] = map['model.embed_tokens.weight'] === map['model.norm.weight'] ? 'model-00002-of-00002.safetensors' : map['model.embed_tokens.weight'];
    });
    const { code, message } = await failure(convertFolder(raw(), out()));
    expect(code).toBe('BAD_INPUT');
    expect(message).toMatch(/model\.norm\.weight/);
  });
});

describe('convert: inventory through the hook', () => {
  it('untied without lm_head fails loudly', async () => {
    await writeTiny(raw(), { seed: 14, tied: false });
    await editSafetensors(path.join(raw(), 'model.safetensors'), (ts) => ts.filter((t) => t.name !== 'lm_head.weight'));
    const { code, message } = await failure(convertFolder(raw(), out()));
    expect(code).toBe('CONVERSION_FAILED');
    expect(message).toMatch(/missing tensor lm_head.weight/);
  });

  it('a missing tensor and an unexpected tensor fail, a known buffer warns', async () => {
    await writeTiny(raw(), { seed: 15 });
    const file = path.join(raw(), 'model.safetensors');
    await editSafetensors(file, (ts) => ts.filter((t) => t.name !== 'model.layers.1.self_attn.q_proj.bias'));
    expect((await failure(convertFolder(raw(), out()))).message).toMatch(/missing tensor model.layers.1.self_attn.q_proj.bias/);

    await writeTiny(raw(), { seed: 15 });
    await editSafetensors(file, (ts) => [...ts, { name: 'model.layers.0.mlp.gate_proj.bias', dtype: 'BF16', shape: [128], data: new Uint8Array(256) }]);
    expect((await failure(convertFolder(raw(), path.join(root, 'o2')))).message).toMatch(/unexpected tensor model.layers.0.mlp.gate_proj.bias/);

    await writeTiny(raw(), { seed: 15 });
    await editSafetensors(file, (ts) => [...ts, { name: 'model.rotary_emb.inv_freq', dtype: 'F32', shape: [8], data: new Uint8Array(32) }]);
    const { result } = await convertFolder(raw(), path.join(root, 'o3'));
    expect(result.components[0].status).toBe('warning');
    expect(result.components[0].warnings.join()).toMatch(/known buffer/);
    // Rewritten, the buffer is dropped.
    const { result: rewritten } = await convertFolder(raw(), path.join(root, 'o4'), { dtype: 'f32' });
    const tensors = await readAllTensors(path.join(root, 'o4'), ['model.safetensors']);
    expect(tensors.has('model.rotary_emb.inv_freq')).toBe(false);
    expect(rewritten.components[0].warnings.join()).toMatch(/not written \(model.rotary_emb.inv_freq\)/);
  });

  it('tied with an lm_head copy: equal is fine, different warns; the count excludes it', async () => {
    await writeTiny(raw(), { seed: 16 });
    const file = path.join(raw(), 'model.safetensors');
    const plain = await convertFolder(raw(), path.join(root, 'plain'));
    await editSafetensors(file, (ts) => [...ts, { ...ts.find((t) => t.name === 'model.embed_tokens.weight')!, name: 'lm_head.weight' }]);
    const equal = await convertFolder(raw(), path.join(root, 'equal'));
    expect(equal.result.components[0].status).toBe('ok');
    expect(equal.result.components[0].detail).toMatch(/tied lm_head copy equals embed_tokens/);
    expect(equal.result.parameterCount).toBe(plain.result.parameterCount);

    await editSafetensors(file, (ts) => ts.map((t) => (t.name === 'lm_head.weight' ? { ...t, data: t.data.map((b, i) => (i === 0 ? b ^ 1 : b)) } : t)));
    const different = await convertFolder(raw(), path.join(root, 'different'));
    expect(different.result.components[0].status).toBe('warning');
    expect(different.result.components[0].warnings.join()).toMatch(/lm_head.weight differs from model.embed_tokens.weight/);
    expect(different.result.parameterCount).toBe(plain.result.parameterCount);
  });
});

describe('convert: side files', () => {
  it('reports a missing tokenizer, tokenizer_config.json, generation config and license', async () => {
    await writeTiny(raw(), { seed: 17, tokenizer: false });
    await unlink(path.join(raw(), 'generation_config.json'));
    await unlink(path.join(raw(), 'LICENSE'));
    const { result } = await convertFolder(raw(), out());
    const by = Object.fromEntries(result.components.map((c) => [c.component, c]));
    expect(by.tokenizer.status).toBe('missing');
    expect(by['generation-config'].status).toBe('missing');
    expect(by.license.status).toBe('missing');

    await writeTiny(raw(), { seed: 17 });
    await unlink(path.join(raw(), 'tokenizer_config.json'));
    const second = await convertFolder(raw(), path.join(root, 'o2'));
    const tokenizer = second.result.components.find((c) => c.component === 'tokenizer')!;
    expect(tokenizer.status).toBe('warning');
    expect(tokenizer.warnings.join()).toMatch(/tokenizer_config.json missing: transformers.js loads no tokenizer/);
  });

  it('inlines chat_template.jinja into a tokenizer_config.json without one', async () => {
    await writeTiny(raw(), { seed: 18 });
    await editJson(path.join(raw(), 'tokenizer_config.json'), (c) => delete c.chat_template);
    await writeFile(path.join(raw(), 'chat_template.jinja'), '{{ messages }}');
    const { result } = await convertFolder(raw(), out());
    expect(JSON.parse(await readFile(path.join(out(), 'tokenizer_config.json'), 'utf8')).chat_template).toBe('{{ messages }}');
    expect(result.components.find((c) => c.component === 'tokenizer')!.detail).toMatch(/inlined/);
  });
});
