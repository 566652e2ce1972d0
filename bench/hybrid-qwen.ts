/**
 * The hybrid Qwen benchmark row: a Qwen3.5-shaped model (Qwen/Qwen3.5-0.8B's text_config head sizes and layer
 * schedule — hidden 1024, 8 query / 2 KV heads of 256 with the output gate, Gated DeltaNet 16 key / 16 value heads
 * of 128, conv kernel 4, SwiGLU 3584, 24 layers: three linear-attention layers then one full-attention layer, the
 * 248,320-token vocabulary, bf16, tied: the text model's ~750M parameters, ~1.5 GB — in its
 * ForConditionalGeneration wrapper with small model.visual.* / mtp.* tensors (the real vision tower's ~100M
 * parameters are kept byte for byte, never computed, so their size would only add to both sides of the cp
 * ratio)) with seeded weights written locally by the kit's seeded-model writer,
 * served by its own fake hub and imported through the CLI: whole import and validation beside curl | tee | openssl
 * and cp of the same weights, the import again under --max-memory 1GB, peak RSS, and onnxruntime decode ms/token
 * on the registered onnx/model.onnx. Load average lines go with it (the machine is shared).
 * BENCH_ONLY=qwen35 runs only this row; BENCH_SKIP_QWEN35=1 leaves it out of a full run.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { seededTensorList, emptyCache } from '../plugins/decoder-kit/testing.js';
import { defaultSessionOptions } from '../plugins/decoder-kit/src/onnx/session-options.js';
import type { ModelConfig } from '../src/index.js';
import { lazyFileFromDisk, startFakeHub } from '../test/fake-hub/index.js';
import { makeCachedSeededModel } from './make-model.js';
import { curlPipeline, measure, stats } from './measure.js';

export const REPO_QWEN35 = 'bench/qwen3.5-0.8b-shaped';
const LAYERS = 24;
const VOCAB = 248320;

/** Qwen/Qwen3.5-0.8B's text_config (the fields that shape it). */
export const QWEN35_BENCH_TEXT_CONFIG: ModelConfig = {
  model_type: 'qwen3_5_text',
  hidden_size: 1024,
  intermediate_size: 3584,
  num_hidden_layers: LAYERS,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  head_dim: 256,
  attn_output_gate: true,
  linear_conv_kernel_dim: 4,
  linear_key_head_dim: 128,
  linear_value_head_dim: 128,
  linear_num_key_heads: 16,
  linear_num_value_heads: 16,
  full_attention_interval: 4,
  layer_types: Array.from({ length: LAYERS }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')),
  vocab_size: VOCAB,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 262144,
  hidden_act: 'silu',
  attention_bias: false,
  tie_word_embeddings: true,
  rope_parameters: { rope_type: 'default', rope_theta: 10000000, partial_rotary_factor: 0.25, mrope_section: [11, 11, 10], mrope_interleaved: true },
  bos_token_id: 151643,
  eos_token_id: 151643,
};

export const QWEN35_BENCH_CONFIG: ModelConfig = {
  architectures: ['Qwen3_5ForConditionalGeneration'],
  model_type: 'qwen3_5',
  text_config: QWEN35_BENCH_TEXT_CONFIG,
  vision_config: { model_type: 'qwen3_5_vision', depth: 1, hidden_size: 16, spatial_merge_size: 2 },
  image_token_id: 248056,
  video_token_id: 248057,
};

export const PARAMETERS_QWEN35 = seededTensorList(QWEN35_BENCH_CONFIG).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);

/** Writes the model folder (once; reused when complete) and returns its path. */
export async function makeQwen35Model(dir: string): Promise<string> {
  return makeCachedSeededModel(dir, { seed: 3535, family: 'qwen3_5', dtype: 'bf16', tied: true, config: QWEN35_BENCH_CONFIG, wrapperExtras: true });
}

interface Figures {
  wallMs: number;
  peakRss: number;
  peakPss: number;
  stages: Record<string, { ms: number; peakRss: number }>;
}

/** run.ts's CLI import (models folder kept when reuse is 'first', for the decode timing). */
export type CliImport = (hubUrl: string, label: string, extra: string[], env: Record<string, string>, run: { repo?: string; reuse?: 'first' | 'again' | 'last' }) => Promise<Figures>;

const loadavg = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name && path.basename(entry.parentPath) === 'onnx') return path.join(entry.parentPath, entry.name);
  }
  return undefined;
}

/**
 * Decode ms/token of the registered graph in onnxruntime (the kit's session options, as the validator uses):
 * a 32-token prompt, then `steps` single-token calls carrying the cache; the median step time.
 */
export async function decodeMsPerToken(graph: string, steps = 16): Promise<{ prefillMs: number; decodeMs: number[] }> {
  const session = await ort.InferenceSession.create(graph, { ...defaultSessionOptions });
  const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  let ids = Array.from({ length: 32 }, (_, i) => 1 + ((i * 37) % 90));
  let total = 0;
  let cache: Record<string, ort.Tensor> = emptyCache(session, 1);
  const decodeMs: number[] = [];
  let prefillMs = 0;
  for (let step = 0; step <= steps; step++) {
    total += ids.length;
    const feeds: Record<string, ort.Tensor> = { input_ids: int64([ids]), attention_mask: int64([new Array<number>(total).fill(1)]), ...cache };
    if (session.inputNames.includes('position_ids')) feeds.position_ids = int64([Array.from({ length: ids.length }, (_, i) => total - ids.length + i)]);
    const started = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - started;
    if (step === 0) prefillMs = ms;
    else decodeMs.push(ms);
    cache = {};
    for (const [name, value] of Object.entries(out)) {
      if (name.startsWith('present.')) cache[name.replace('present.', 'past_key_values.')] = value;
      else if (name.startsWith('present_')) cache[name.replace('present_', 'past_')] = value;
    }
    const logits = out.logits.data as Float32Array;
    const V = out.logits.dims[2] as number;
    const last = logits.subarray(logits.length - V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v; // a loop: 248k arguments overflow Math.max's stack
    ids = [best % 90 + 1];
  }
  await session.release();
  return { prefillMs, decodeMs };
}

/** The row's figures, one run: pushed into the bench series under qwen35.*. */
export async function qwen35Row(benchDir: string, cliImport: CliImport, push: (key: string, value: number) => void): Promise<void> {
  process.stderr.write('Preparing the Qwen3.5-shaped model (cached in .bench/)...\n');
  const dir = await makeQwen35Model(path.join(benchDir, 'qwen3.5-0.8b-shaped'));
  const weights = path.join(dir, 'model.safetensors');
  const small: Record<string, Uint8Array> = {};
  for (const name of await fs.readdir(dir)) {
    if (name !== 'model.safetensors' && !name.startsWith('.')) small[name] = await fs.readFile(path.join(dir, name));
  }
  const hub = await startFakeHub({ repos: [{ id: REPO_QWEN35, files: small, lazyFiles: { 'model.safetensors': await lazyFileFromDisk(weights) }, cardData: { license: 'apache-2.0' } }] });
  const scratch = path.join(benchDir, 'scratch-qwen35.bin');
  const modelsDir = path.join(benchDir, 'models-qwen35');
  try {
    process.stderr.write(`Qwen3.5-shaped row, load average ${loadavg()}\n`);
    const curl = await curlPipeline(`${hub.url}/${REPO_QWEN35}/resolve/main/model.safetensors`, scratch);
    push('qwen35.curl.ms', curl.wallMs);
    const cp = await measure('cp', [weights, scratch]);
    push('qwen35.cp.ms', cp.wallMs);
    const full = await cliImport(hub.url, 'qwen35', [], {}, { repo: REPO_QWEN35, reuse: 'first' });
    push('qwen35.import.ms', full.wallMs);
    push('qwen35.import.rss', full.peakRss);
    push('qwen35.import.pss', full.peakPss);
    push('qwen35.convert.ms', full.stages.convert?.ms ?? NaN);
    push('qwen35.validate.ms', full.stages.validate?.ms ?? NaN);
    push('qwen35.validate.rss', full.stages.validate?.peakRss ?? NaN);
    const graph = await findFile(modelsDir, 'model.onnx');
    if (!graph) throw new Error(`no onnx/model.onnx under ${modelsDir}`);
    process.stderr.write(`Qwen3.5-shaped decode timing, load average ${loadavg()}\n`);
    const decode = await decodeMsPerToken(graph);
    const sorted = [...decode.decodeMs].sort((a, b) => a - b);
    push('qwen35.prefill32.ms', decode.prefillMs);
    push('qwen35.decode.ms', sorted[sorted.length >> 1]);
    await fs.rm(modelsDir, { recursive: true, force: true });
    const budget = await cliImport(hub.url, 'qwen35-budget', ['--max-memory', '1GB'], {}, { repo: REPO_QWEN35 });
    push('qwen35.budget.validate.ms', budget.stages.validate?.ms ?? NaN);
    push('qwen35.budget.validate.rss', budget.stages.validate?.peakRss ?? NaN);
    process.stderr.write(`Qwen3.5-shaped row done, load average ${loadavg()}\n`);
    push('qwen35.loadavg', os.loadavg()[0]);
  } finally {
    await hub.close();
    await fs.rm(scratch, { force: true });
    await fs.rm(modelsDir, { recursive: true, force: true });
  }
}

type Row = [string, string, string, string, string];
interface S {
  median: number;
  min: number;
  max: number;
}

/** The row's lines of the bench table; the validation ratio needs the 0.5B-shaped rows of the same run. */
export function qwen35Rows(s: Record<string, S>): Row[] {
  const sec = (x: S) => `${(x.median / 1000).toFixed(2)} s [${(x.min / 1000).toFixed(2)}–${(x.max / 1000).toFixed(2)}]`;
  const mb = (x: S) => `${(x.median / 1e6).toFixed(0)} MB [${(x.min / 1e6).toFixed(0)}–${(x.max / 1e6).toFixed(0)}]`;
  const ms = (x: S) => `${x.median.toFixed(0)} ms [${x.min.toFixed(0)}–${x.max.toFixed(0)}]`;
  const ratio = (a: string, b: string) => `${(s[a].median / s[b].median).toFixed(3)} ×`;
  const name = `Qwen3.5-0.8B-shaped (${(PARAMETERS_QWEN35 / 1e6).toFixed(0)}M parameters, bf16, ${LAYERS} layers: ${LAYERS * 3 / 4} Gated DeltaNet + ${LAYERS / 4} gated attention)`;
  const half = s['stage.validate.ms'];
  return [
    [`${name}: whole import vs curl | tee | openssl (of which validation)`, `${sec(s['qwen35.import.ms'])} (${sec(s['qwen35.validate.ms'])})`, sec(s['qwen35.curl.ms']), ratio('qwen35.import.ms', 'qwen35.curl.ms'), ''],
    ['same: conversion, dtype kept, vs cp of the weights', sec(s['qwen35.convert.ms']), sec(s['qwen35.cp.ms']), ratio('qwen35.convert.ms', 'qwen35.cp.ms'), '≤ 0.1 ×'],
    ['same: validation vs the 0.5B-shaped validation of this run', sec(s['qwen35.validate.ms']), half ? sec(half as S) : '(not run)', half ? ratio('qwen35.validate.ms', 'stage.validate.ms') : '', '≤ 2 ×'],
    ['same: peak RSS, whole import / validation stage', `${mb(s['qwen35.import.rss'])} / ${mb(s['qwen35.validate.rss'])}`, '', s['qwen35.import.rss'].median <= 2.5e9 ? 'met' : 'NOT met', '≤ 2.5 GB'],
    ['same: peak memory of the whole import with shared pages counted once (summed PSS: both runtimes map the same weights file)', mb(s['qwen35.import.pss']), '', '', ''],
    ['same, --max-memory 1GB: validation time / peak RSS (process tree)', `${sec(s['qwen35.budget.validate.ms'])} / ${mb(s['qwen35.budget.validate.rss'])}`, '', s['qwen35.budget.validate.rss'].max <= 1e9 ? 'within 1 GB in every run' : 'ABOVE 1 GB in some run', '≤ 1 GB (1GB respected)'],
    ['same: onnxruntime prefill of 32 tokens / decode per token (median of 16)', `${ms(s['qwen35.prefill32.ms'])} / ${ms(s['qwen35.decode.ms'])}`, '', '', ''],
    ['same: 1-minute load average at the end of the row', s['qwen35.loadavg'].median.toFixed(1), '', '', ''],
  ];
}

/** BENCH_ONLY=qwen35: this row alone, `runs` times; table on stdout, figures in .bench/results-qwen35.json. */
export async function qwen35Only(benchDir: string, cliImport: CliImport, runs: number): Promise<void> {
  const series: Record<string, number[]> = {};
  for (let run = 1; run <= runs; run++) {
    process.stderr.write(`Qwen3.5-shaped run ${run}/${runs}\n`);
    await qwen35Row(benchDir, cliImport, (key, value) => (series[key] ??= []).push(value));
  }
  const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, stats(v)]));
  const rows = qwen35Rows(s);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  process.stdout.write(`\n${runs} runs; ${machine}\n\n${rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}\n`);
  await fs.writeFile(path.join(benchDir, 'results-qwen35.json'), JSON.stringify({ date: new Date().toISOString(), machine, runs, parameters: PARAMETERS_QWEN35, series: s, table: rows }, null, 2));
}
