/**
 * Load/forward benchmark of the decoder graph on a Qwen2.5-0.5B-shaped, seeded bf16 model (494M parameters).
 *
 *   npx tsx plugins/arch-qwen/src/onnx/bench.ts [--dir /tmp/x] [--keep] [--variants designed,disabled,...]
 *
 * Writes the model into a temp folder (streamed: tensors are generated chunk by chunk), builds onnx/model.onnx,
 * then for each session-options variant starts a fresh `node` child that creates the session and runs a 5-token
 * forward plus one decode step, and reports the child's own timings and peak RSS (VmHWM from /proc/self/status).
 * A child process per variant keeps the figures honest: nothing the parent allocated counts, and every variant
 * starts from an empty heap.
 *
 * Measured on the 2-core shared machine (2026-11, onnxruntime-node 1.30), best of repeated runs; the load from
 * other work on the machine made single runs up to 3x slower:
 *
 *   variant        create  5-token fwd  decode  child wall  peak RSS (VmHWM)
 *   designed       0.36 s  0.40 s       0.37 s  1.26 s      1131 MB   (942 MB of it: the mmapped bf16 weights)
 *   ort-defaults   0.35 s  0.40 s       0.31 s  1.18 s      1128 MB   (the graph itself prevents folding)
 *   disabled       0.52 s  1.47 s       0.87 s  3.00 s      1128 MB
 *
 * Before the weight Casts were anchored to their activations, the same graph peaked at 1.97 GB (disabled) and
 * 1.57 GB (all, ConstantFolding off) because ORT's topological order ran most Casts first, and the memory
 * pattern grew RSS by ~0.5-0.9 GB per repeated call. §7.8's naive graph: 3.06-4.53 GB.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { InferenceSession } from 'onnxruntime-node';
import { writeSeededModel, QWEN25_05B_CONFIG } from '../../../decoder-kit/testing.js';
import { buildDecoderGraph, defaultSessionOptions } from '../../../decoder-kit/index.js';
import { Qwen2Family } from '../families/qwen2-family.js';

/** Session-option variants worth comparing; `designed` is what the graph is meant to be opened with. */
const VARIANTS: Record<string, InferenceSession.SessionOptions> = {
  designed: defaultSessionOptions,
  /** What transformers.js uses when the caller passes no session_options. */
  'ort-defaults': {},
  disabled: { graphOptimizationLevel: 'disabled' },
  'designed-spinning': { ...defaultSessionOptions, extra: { ...defaultSessionOptions.extra, session: { disable_prepacking: '1' } } },
  'designed-mem-pattern': { ...defaultSessionOptions, enableMemPattern: true },
  'designed-parallel': { ...defaultSessionOptions, executionMode: 'parallel' },
  'designed-1-thread': { ...defaultSessionOptions, intraOpNumThreads: 1 },
};

const CHILD = `
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(process.argv[2]);
const ort = require('onnxruntime-node');
const [, , , graph, optionsJson, layersText, kvText, dText] = process.argv;
const layers = Number(layersText), nKV = Number(kvText), D = Number(dText);
const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const t0 = performance.now();
const session = await ort.InferenceSession.create(graph, JSON.parse(optionsJson));
const t1 = performance.now();
const createHwm = hwm();
const ids = [9707, 11, 1879, 0, 151643];
const S = ids.length;
const feeds = {
  input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, S]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
  position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, S]),
};
for (let i = 0; i < layers; i++) for (const k of ['key', 'value']) feeds['past_key_values.' + i + '.' + k] = new ort.Tensor('float32', new Float32Array(0), [1, nKV, 0, D]);
const out = await session.run(feeds);
const t2 = performance.now();
const logits = out.logits.data;
let finite = true; for (let i = 0; i < logits.length; i++) if (!Number.isFinite(logits[i])) { finite = false; break; }
const step = {
  input_ids: new ort.Tensor('int64', BigInt64Array.from([42n]), [1, 1]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(S + 1).fill(1n), [1, S + 1]),
  position_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(S)]), [1, 1]),
};
for (let i = 0; i < layers; i++) for (const k of ['key', 'value']) step['past_key_values.' + i + '.' + k] = out['present.' + i + '.' + k];
await session.run(step);
const t3 = performance.now();
process.stdout.write(JSON.stringify({ createMs: t1 - t0, forwardMs: t2 - t1, decodeMs: t3 - t2, createHwm, peakRss: hwm(), finite, dims: out.logits.dims }));
`;

interface ChildResult {
  createMs: number;
  forwardMs: number;
  decodeMs: number;
  createHwm: number;
  peakRss: number;
  finite: boolean;
  wallMs: number;
}

async function runChild(script: string, graph: string, options: InferenceSession.SessionOptions): Promise<ChildResult> {
  const anchor = createRequire(import.meta.url).resolve('onnxruntime-node');
  const c = QWEN25_05B_CONFIG;
  const D = (c.hidden_size as number) / (c.num_attention_heads as number);
  const args = [script, anchor, graph, JSON.stringify(options), String(c.num_hidden_layers), String(c.num_key_value_heads), String(D)];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`child failed (${code}): ${stderr.slice(-2000)}`);
  return { ...(JSON.parse(stdout) as Omit<ChildResult, 'wallMs'>), wallMs };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      variants: { type: 'string', default: 'designed,ort-defaults,disabled' },
      repeat: { type: 'string', default: '1' },
      'head-chunk-mb': { type: 'string' },
    },
  });
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'qwen-bench-')));
  try {
    let existing = false;
    try {
      await stat(join(dir, 'model.safetensors'));
      existing = true;
    } catch {
      existing = false;
    }
    if (!existing) {
      const t = performance.now();
      await writeSeededModel(dir, { seed: 7, family: 'qwen2', dtype: 'bf16', tied: true, config: QWEN25_05B_CONFIG });
      console.log(`wrote seeded Qwen2.5-0.5B-shaped bf16 model in ${sec(performance.now() - t)} (${mb((await stat(join(dir, 'model.safetensors'))).size)}) to ${dir}`);
    }
    const config = QWEN25_05B_CONFIG;
    const t = performance.now();
    const headChunkBytes = values['head-chunk-mb'] ? Number(values['head-chunk-mb']) * 2 ** 20 : undefined;
    const built = await buildDecoderGraph({ modelDir: dir, dims: new Qwen2Family().readDims({ ...config, tie_word_embeddings: true }).dims, headChunkBytes });
    const graph = join(dir, built.graphPath);
    console.log(`built ${built.graphPath} in ${sec(performance.now() - t)}: ${(await stat(graph)).size} bytes, opset ${built.opset}`);

    const script = join(dir, 'bench-child.mjs');
    await writeFile(script, CHILD);
    console.log('\nvariant          | create  | 5-token fwd | decode  | child wall | RSS after create | peak RSS');
    for (const name of values.variants!.split(',')) {
      const options = VARIANTS[name];
      if (!options) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
      for (let r = 0; r < Number(values.repeat); r++) {
        const res = await runChild(script, graph, options);
        console.log(
          `${name.padEnd(16)} | ${sec(res.createMs)} | ${sec(res.forwardMs).padStart(11)} | ${sec(res.decodeMs)} | ${sec(res.wallMs).padStart(10)} | ${mb(res.createHwm).padStart(16)} | ${mb(res.peakRss)}${res.finite ? '' : '  NON-FINITE LOGITS'}`,
        );
      }
    }
    console.log(`\ndesigned = ${JSON.stringify(defaultSessionOptions)}`);
  } finally {
    if (!values.keep && !values.dir) await rm(dir, { recursive: true, force: true });
  }
}

await main();
