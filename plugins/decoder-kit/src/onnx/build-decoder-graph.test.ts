import { copyFile, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel, writeRepoFiles, type TinyModelOptions } from '../../../../test/fixtures/tiny-models.js';
import { readSafetensorsHeader, writeSafetensors } from '../../../../src/formats/safetensors/index.js';
import type { ModelConfig } from '../../../../src/index.js';
import { ReferenceModel, readForwardDims, ModelWeights } from '../reference/index.js';
import { writeSeededModel } from '../testing/write-seeded-model.js';
import { buildDecoderGraph, defaultSessionOptions } from './index.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import type { RopeSpec } from '../blocks/rope-spec.js';
import { Qwen3Family } from '../../../arch-qwen/index.js';
import { qwenDims } from '../../../arch-qwen/test/family-dims.js';
import { maxAbsDiff, runDecoder, type KvShape } from '../testing/run-decoder.js';

const { onnx } = onnxProto;
const TOLERANCE = 1e-4;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'arch-qwen-onnx-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readConfig(dir: string): Promise<ModelConfig> {
  return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
}

async function tinyFolder(name: string, options: TinyModelOptions): Promise<string> {
  const dir = join(root, name);
  await writeRepoFiles(dir, makeTinyModel(options));
  return dir;
}

/** The graph is built from the family's reading (DecoderDims), as the converter builds it; `dims` overrides. */
async function buildAndOpen(dir: string, sessionOptions: ort.InferenceSession.SessionOptions = defaultSessionOptions, given?: DecoderDims) {
  const config = await readConfig(dir);
  const result = await buildDecoderGraph({ modelDir: dir, dims: given ?? qwenDims(config) });
  const session = await ort.InferenceSession.create(join(dir, result.graphPath), sessionOptions);
  const dims = readForwardDims(config);
  const kv: KvShape = { layers: dims.layers, kvHeads: dims.kvHeads, headDim: dims.headDim };
  return { session, kv, dims, result };
}

// Two prompts of different lengths, the shorter one left-padded (pad id 0, mask 0), as transformers.js batches them.
const IDS = [
  [11, 42, 7, 99, 3, 150, 64],
  [0, 0, 0, 23, 5, 77, 120],
];
const MASK = [
  [1, 1, 1, 1, 1, 1, 1],
  [0, 0, 0, 1, 1, 1, 1],
];
const real = (b: number, s: number) => MASK[b][s] === 1;

describe('buildDecoderGraph: ORT logits against the reference forward pass', () => {
  const matrix: Array<[TinyModelOptions['family'], TinyModelOptions['dtype'], boolean]> = [];
  for (const family of ['qwen2', 'qwen3'] as const) {
    for (const dtype of ['bf16', 'f32'] as const) for (const tied of [true, false]) matrix.push([family, dtype, tied]);
  }

  it.each(matrix)('%s %s tied=%s: logits of a left-padded batch within 1e-4', async (family, dtype, tied) => {
    const dir = await tinyFolder(`${family}-${dtype}-${tied}`, { family, dtype, tied, seed: 5 });
    const { session, kv } = await buildAndOpen(dir);
    const graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const reference = await ReferenceModel.load(dir).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(graph.dims).toEqual(reference.dims);
    const diff = maxAbsDiff(graph.logits, reference.logits, reference.dims, real);
    expect(diff).toBeLessThan(TOLERANCE);
    await session.release();
  });

  it.each(['qwen2_moe', 'qwen3_moe'] as const)('%s (routed experts, per-expert tensors) within 1e-4', async (family) => {
    const dir = await tinyFolder(`${family}-moe`, { family, dtype: 'bf16', seed: 9 });
    const { session, kv, result } = await buildAndOpen(dir);
    expect(result.warnings.join(' ')).toMatch(/compute only the chosen 2 of 4 experts for inputs of up to 2 rows \(decode\) and evaluate all 4 experts for longer ones/);
    const graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const reference = await ReferenceModel.load(dir).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(graph.logits, reference.logits, reference.dims, real)).toBeLessThan(TOLERANCE);
    await session.release();
  });

  it('f16, sharded, tied with a stored lm_head copy: within 1e-4 and the copy is ignored with a warning', async () => {
    const dir = join(root, 'seeded-f16-sharded');
    await writeSeededModel(dir, { seed: 3, family: 'qwen3', dtype: 'f16', tied: true, tiedCopy: true, shards: 3, config: { vocab_size: 160 } });
    const { session, kv, result } = await buildAndOpen(dir);
    expect(result.warnings.join(' ')).toMatch(/also holds lm_head.weight/);
    const graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const reference = await ReferenceModel.load(dir).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(graph.logits, reference.logits, reference.dims, real)).toBeLessThan(TOLERANCE);
    await session.release();
  });

  /**
   * Qwen3 with every rope type the kit computes (Qwen3Family itself takes default, linear, dynamic and yarn; llama3
   * is Llama's): the dims come from the kit's typed reading all the same.
   */
  class AnyRopeQwen3 extends Qwen3Family {
    override readonly ropeTypes: readonly string[] = ['default', 'linear', 'dynamic', 'yarn', 'llama3'];
  }
  /** mrope sections are no Qwen3 config key (only the hybrid families read them): that RopeSpec is given as it is. */
  const givenRope: Record<string, RopeSpec> = {
    partial: { theta: 1e4, partialRotaryFactor: 0.5, mropeSection: { sections: [1, 2, 1], interleaved: true } },
  };
  const ropeCases: Array<[string, Record<string, unknown>]> = [
    ['yarn (factor 4, attention factor 1.139)', { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 } }],
    ['llama3', { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }],
    ['linear', { rope_scaling: { type: 'linear', factor: 2 } }],
    ['partial rotary 0.5 with mrope sections', { rope_parameters: { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5, mrope_section: [1, 2, 1], mrope_interleaved: true } }],
  ];
  it.each(ropeCases)('qwen3 with %s RoPE: graph and reference agree within 1e-4, and differ from default RoPE', async (name, rope) => {
    const dir = join(root, `seeded-rope-${name.split(' ')[0]}`);
    await writeSeededModel(dir, { seed: 17, family: 'qwen3', dtype: 'f32', tied: true, config: { vocab_size: 160, ...rope } });
    const config = await readConfig(dir);
    const spec = givenRope[name.split(' ')[0]];
    const dims = spec
      ? { ...qwenDims({ ...config, rope_parameters: null }), rope: spec }
      : new AnyRopeQwen3().readDims(config).dims;
    const { session, kv } = await buildAndOpen(dir, defaultSessionOptions, dims);
    const graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const reference = await ReferenceModel.load(dir).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(graph.logits, reference.logits, reference.dims, real)).toBeLessThan(TOLERANCE);
    const plain = await ReferenceModel.load(dir, { config: { ...config, rope_scaling: null, rope_parameters: null } })
      .then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(plain.logits, reference.logits, reference.dims, real)).toBeGreaterThan(1e-3);
    await session.release();
  });

  it('qwen3 with attention_bias: q/k/v and o biases, within 1e-4', async () => {
    const dir = join(root, 'seeded-qwen3-bias');
    await writeSeededModel(dir, { seed: 13, family: 'qwen3', dtype: 'bf16', tied: false, config: { vocab_size: 160, attention_bias: true } });
    expect((await ModelWeights.open(dir)).has('model.layers.1.self_attn.o_proj.bias')).toBe(true);
    const { session, kv } = await buildAndOpen(dir);
    const graph = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const reference = await ReferenceModel.load(dir).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(graph.logits, reference.logits, reference.dims, real)).toBeLessThan(TOLERANCE);
    await session.release();
  });

  it('the fused (transformers v5) expert layout gives the same logits as the per-expert layout', async () => {
    const perExpert = join(root, 'moe-per-expert');
    const fused = join(root, 'moe-fused');
    const config = await writeSeededModel(perExpert, { seed: 4, family: 'qwen2_moe', dtype: 'bf16', tied: false, config: { vocab_size: 160 } });
    await fuseExperts(perExpert, fused, config);

    const a = await buildAndOpen(perExpert);
    const b = await buildAndOpen(fused);
    const ga = await runDecoder(a.session, a.kv, { inputIds: IDS, attentionMask: MASK });
    const gb = await runDecoder(b.session, b.kv, { inputIds: IDS, attentionMask: MASK });
    expect(maxAbsDiff(ga.logits, gb.logits, ga.dims, real)).toBeLessThan(1e-5);
    const ref = await ReferenceModel.load(fused).then((m) => m.forward({ inputIds: IDS, attentionMask: MASK }));
    expect(maxAbsDiff(gb.logits, ref.logits, ref.dims, real)).toBeLessThan(TOLERANCE);
    await a.session.release();
    await b.session.release();
  });
});

describe('buildDecoderGraph: cache and padding', () => {
  it('decode steps with past_key_values agree with the full-sequence logits (left-padded batch)', async () => {
    const dir = await tinyFolder('decode-qwen3', { family: 'qwen3', dtype: 'bf16', seed: 12 });
    const { session, kv } = await buildAndOpen(dir);
    const full = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const [, S, V] = full.dims;

    // Prefill the first 4 columns, then feed the remaining 3 one at a time through the cache.
    const prefill = 4;
    let step = await runDecoder(session, kv, { inputIds: IDS.map((r) => r.slice(0, prefill)), attentionMask: MASK.map((r) => r.slice(0, prefill)) });
    let worst = maxAbsDiff(step.logits, sliceColumns(full.logits, full.dims, 0, prefill), [2, prefill, V], (b, s) => real(b, s));
    for (let s = prefill; s < S; s++) {
      step = await runDecoder(session, kv, { inputIds: IDS.map((r) => [r[s]]), attentionMask: MASK.map((r) => r.slice(0, s + 1)), past: step.cache });
      expect(step.cache['past_key_values.0.key'].dims).toEqual([2, kv.kvHeads, s + 1, kv.headDim]);
      worst = Math.max(worst, maxAbsDiff(step.logits, sliceColumns(full.logits, full.dims, s, s + 1), [2, 1, V]));
    }
    expect(worst).toBeLessThan(TOLERANCE);
    await session.release();
  });

  it('a left-padded batch of two prompts gives the same real-token logits as each prompt alone', async () => {
    const dir = await tinyFolder('padding-qwen2', { family: 'qwen2', dtype: 'bf16', seed: 21 });
    const { session, kv } = await buildAndOpen(dir);
    const batch = await runDecoder(session, kv, { inputIds: IDS, attentionMask: MASK });
    const [, S, V] = batch.dims;
    for (let b = 0; b < 2; b++) {
      const start = MASK[b].indexOf(1);
      const alone = await runDecoder(session, kv, { inputIds: [IDS[b].slice(start)] });
      const fromBatch = sliceColumns(sliceRows(batch.logits, batch.dims, b), [1, S, V], start, S);
      expect(maxAbsDiff(alone.logits, fromBatch, alone.dims)).toBeLessThan(TOLERANCE);
    }
    await session.release();
  });
});

describe('buildDecoderGraph: weights are read in place', () => {
  it('model.onnx holds no weight bytes; every weight points into a hard link of its safetensors file', async () => {
    const dir = await tinyFolder('inplace-sharded', { family: 'qwen2', dtype: 'bf16', seed: 2, shards: 2 });
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(await readConfig(dir)) });
    const graphBytes = await readFile(join(dir, 'onnx/model.onnx'));
    const model = onnx.ModelProto.decode(graphBytes);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const shards = [...new Set(Object.values(index.weight_map))];
    expect(shards).toHaveLength(2);

    // Every shard is linked, not copied: same inode as the root file.
    const headers = new Map<string, Awaited<ReturnType<typeof readSafetensorsHeader>>>();
    for (const shard of shards) {
      const [rootStat, linkStat] = await Promise.all([stat(join(dir, shard)), stat(join(dir, 'onnx', shard))]);
      expect(linkStat.ino).toBe(rootStat.ino);
      expect(linkStat.nlink).toBeGreaterThanOrEqual(2);
      headers.set(shard, await readSafetensorsHeader(join(dir, shard)));
    }

    const ranges = new Map<string, number>();
    let inlineBytes = 0;
    const covered = new Set<string>();
    for (const init of model.graph!.initializer!) {
      if (init.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) {
        inlineBytes += init.rawData?.length ?? 0;
        continue;
      }
      const entry = Object.fromEntries(init.externalData!.map((e) => [e.key, e.value]));
      const header = headers.get(entry.location!);
      expect(header, `location ${entry.location}`).toBeDefined();
      const offset = Number(entry.offset);
      const length = Number(entry.length);
      ranges.set(`${entry.location}@${offset}`, length); // the tied LM head reuses the embedding's range
      // Inside exactly one tensor of that file (whole tensor, or row chunks of the LM head / expert slices).
      const tensor = header!.tensors.find((t) => offset >= t.fileOffset && offset + length <= header!.dataStart + t.end);
      expect(tensor, `${init.name} at ${offset}+${length}`).toBeDefined();
      if (offset === tensor!.fileOffset && length === tensor!.end - tensor!.begin) covered.add(tensor!.name);
    }
    // Every checkpoint tensor is referenced whole (the tiny model's LM head fits one chunk); the graph's own
    // constants (shapes, RoPE frequencies) are a few hundred bytes.
    expect(covered).toEqual(new Set(Object.keys(index.weight_map)));
    expect(inlineBytes).toBeLessThan(1024);
    const totalWeightBytes = [...headers.values()].reduce((sum, h) => sum + h.fileSize - h.dataStart, 0);
    expect([...ranges.values()].reduce((a, b) => a + b, 0)).toBe(totalWeightBytes);
    expect(graphBytes.length).toBeLessThan(totalWeightBytes / 4);
  });

  it('a large LM head is split into row chunks of one tensor, and logits are unchanged', async () => {
    const dir = await tinyFolder('head-chunks', { family: 'qwen3', dtype: 'bf16', seed: 6, tied: true });
    const config = await readConfig(dir);
    const dims = readForwardDims(config);
    const whole = await buildAndOpen(dir);
    const one = await runDecoder(whole.session, whole.kv, { inputIds: IDS, attentionMask: MASK });
    await whole.session.release();
    // Chunks of 7 rows: not a divisor of the vocabulary, so the last chunk is short.
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config), headChunkBytes: 7 * dims.hidden * 4 });
    const model = onnx.ModelProto.decode(await readFile(join(dir, 'onnx/model.onnx')));
    const chunks = model.graph!.initializer!.filter((t) => t.name!.startsWith('lm_head.rows_'));
    expect(chunks).toHaveLength(Math.ceil(dims.vocab / 7));
    const session = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'), defaultSessionOptions);
    const many = await runDecoder(session, whole.kv, { inputIds: IDS, attentionMask: MASK });
    expect(maxAbsDiff(one.logits, many.logits, one.dims, real)).toBeLessThan(1e-6);
    await session.release();
  });

  it("ORT's default optimizations materialise no float32 copy of a weight", async () => {
    const dir = await tinyFolder('no-folding', { family: 'qwen2', dtype: 'bf16', seed: 8 });
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(await readConfig(dir)) });
    const optimized = join(root, 'no-folding-optimized.onnx');
    const session = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'), {
      optimizedModelFilePath: optimized,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    await session.release();
    const model = onnx.ModelProto.decode(await readFile(optimized));
    const floatCopies = model.graph!.initializer!.filter((t) => {
      const elements = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
      return t.dataType === onnx.TensorProto.DataType.FLOAT && elements > 256;
    });
    expect(floatCopies.map((t) => t.name)).toEqual([]);
  });

  it('rebuilding keeps valid links and replaces a stale copy in onnx/ by a link', async () => {
    const dir = await tinyFolder('relink', { family: 'qwen2', dtype: 'f32', seed: 2 });
    const config = await readConfig(dir);
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    await unlink(join(dir, 'onnx/model.safetensors'));
    await copyFile(join(dir, 'model.safetensors'), join(dir, 'onnx/model.safetensors'));
    expect((await stat(join(dir, 'onnx/model.safetensors'))).ino).not.toBe((await stat(join(dir, 'model.safetensors'))).ino);
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    await buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) });
    expect((await stat(join(dir, 'onnx/model.safetensors'))).ino).toBe((await stat(join(dir, 'model.safetensors'))).ino);
  });

  it('a checkpoint that does not match its config fails naming the tensor', async () => {
    const dir = await tinyFolder('mismatch', { family: 'qwen2', dtype: 'bf16', seed: 2 });
    const config = { ...(await readConfig(dir)), intermediate_size: 96 };
    await expect(buildDecoderGraph({ modelDir: dir, dims: qwenDims(config) })).rejects.toThrow(/mlp\.gate_proj\.weight has shape \[128, 64\], the config implies \[96, 64\]/);
  });
});

function sliceColumns(logits: Float32Array, dims: readonly number[], from: number, to: number): Float32Array {
  const [B, S, V] = dims;
  const out = new Float32Array(B * (to - from) * V);
  for (let b = 0; b < B; b++) out.set(logits.subarray((b * S + from) * V, (b * S + to) * V), b * (to - from) * V);
  return out;
}

function sliceRows(logits: Float32Array, dims: readonly number[], b: number): Float32Array {
  const [, S, V] = dims;
  return logits.slice(b * S * V, (b + 1) * S * V);
}

/** Rewrites a per-expert MoE checkpoint into the fused gate_up_proj / down_proj layout, same values. */
async function fuseExperts(from: string, to: string, config: ModelConfig): Promise<void> {
  const weights = await ModelWeights.open(from);
  const dims = readForwardDims(config);
  const moe = dims.moe!;
  const fusedNames = new Set<string>();
  const tensors: Array<{ name: string; dtype: string; shape: number[]; data: Uint8Array }> = [];
  const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  for (let layer = 0; layer < dims.layers; layer++) {
    const p = `model.layers.${layer}.mlp.experts`;
    const gateUp = new Float32Array(moe.experts * 2 * moe.moeIntermediate * dims.hidden);
    const down = new Float32Array(moe.experts * dims.hidden * moe.moeIntermediate);
    const block = moe.moeIntermediate * dims.hidden;
    for (let e = 0; e < moe.experts; e++) {
      gateUp.set(await weights.float32(`${p}.${e}.gate_proj.weight`), 2 * e * block);
      gateUp.set(await weights.float32(`${p}.${e}.up_proj.weight`), (2 * e + 1) * block);
      down.set(await weights.float32(`${p}.${e}.down_proj.weight`), e * block);
      for (const k of ['gate', 'up', 'down']) fusedNames.add(`${p}.${e}.${k}_proj.weight`);
    }
    tensors.push({ name: `${p}.gate_up_proj`, dtype: 'F32', shape: [moe.experts, 2 * moe.moeIntermediate, dims.hidden], data: f32(gateUp) });
    tensors.push({ name: `${p}.down_proj`, dtype: 'F32', shape: [moe.experts, dims.hidden, moe.moeIntermediate], data: f32(down) });
  }
  for (const name of weights.names) {
    if (!fusedNames.has(name)) tensors.push({ name, dtype: 'F32', shape: weights.locate(name).shape, data: f32(await weights.float32(name)) });
  }
  await mkdir(to, { recursive: true });
  await writeFile(join(to, 'config.json'), JSON.stringify(config));
  await writeSafetensors(join(to, 'model.safetensors'), tensors, { format: 'pt' }, { sync: false });
}
