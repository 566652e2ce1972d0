/**
 * The reference comparison at every model size, layer-sampled: the first and the last layer, one layer of each
 * kind (dense / sparse MoE), and the head. Each sampled layer of the graph runs as its own slice
 * (layer-slices.ts) on the same hidden states as the validator's own layer (reference-reading/reference-layer.ts,
 * computed from the validator's own config reading), so one layer's weights are in memory at a time whatever
 * the model's size. The head is compared on a sample of vocabulary rows (the graph computes them all).
 */
import { open } from 'node:fs/promises';
import {
  checkFp8Layout,
  convertFloatBytes,
  dequantizeFp8Rows,
  isModelImportError,
  readSafetensorsHeader,
  readTensor,
  safeJoin,
  type ConfigFacts,
  type SafetensorsTensorInfo,
  type ValidationReport,
  type ValidationSubject,
  type ValidationSupport,
} from '../../../src/index.js';
import { formatDelta } from './format.js';
import { LayerSlices, SliceError } from './layer-slices.js';
import { VALIDATOR } from './name.js';
import type { SessionHost } from './onnx-process.js';
import { MissingTensorError, ReferenceLayers, prefix } from './reference-reading/reference-layer.js';

const CHECK = 'layer sample';
const SEQ = 5;
const HEAD_ROWS = 64;

/** Layers to sample: first, last, and the first of each kind (dense / sparse MLP; linear / full attention). */
export function sampleLayers(facts: ConfigFacts): number[] {
  const layers = facts.num_hidden_layers as number;
  const sparse = new Set(Array.isArray(facts.sparse_layers) ? facts.sparse_layers : []);
  const picked = new Set([0, layers - 1]);
  if (Array.isArray(facts.full_attention_layers)) {
    const full = new Set(facts.full_attention_layers);
    const firstFull = [...full].sort((a, b) => a - b)[0];
    if (firstFull !== undefined) picked.add(firstFull);
    for (let i = 0; i < layers; i++) if (!full.has(i)) { picked.add(i); break; }
  }
  const firstSparse = [...sparse].sort((a, b) => a - b)[0];
  if (firstSparse !== undefined) picked.add(firstSparse);
  for (let i = 0; i < layers; i++) if (!sparse.has(i)) { picked.add(i); break; }
  return [...picked].sort((a, b) => a - b);
}

async function weightIndex(subject: ValidationSubject): Promise<Map<string, { file: string; info: SafetensorsTensorInfo }>> {
  const index = new Map<string, { file: string; info: SafetensorsTensorInfo }>();
  for (const f of subject.expectedFiles) {
    if (!f.path.endsWith('.safetensors') || f.path.includes('/')) continue;
    const file = safeJoin(subject.modelDir, f.path, 'weights');
    for (const info of (await readSafetensorsHeader(file)).tensors) index.set(info.name, { file, info });
  }
  return index;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

export async function checkLayerSample(
  subject: ValidationSubject,
  report: ValidationReport,
  facts: ConfigFacts,
  graphPath: string,
  support: ValidationSupport,
  figures: Record<string, unknown>,
  budgetBytes = Infinity,
  host?: SessionHost,
  /** Compute the validator's layers while onnxruntime runs the slices (two processes; off within a budget). */
  overlap = false,
): Promise<void> {
  const started = performance.now();
  const index = await weightIndex(subject);
  const weight = async (name: string): Promise<Float32Array | undefined> => {
    const entry = index.get(name);
    if (!entry) return undefined;
    const bytes = await readTensor(entry.file, entry.info);
    if (entry.info.dtype === 'F8_E4M3') {
      const scale = index.get(`${name.replace(/\.weight$/, '')}.weight_scale_inv`);
      if (!scale) throw new MissingTensorError(`${name} is FP8 without a weight_scale_inv`);
      const scales = new Float32Array(convertFloatBytes(await readTensor(scale.file, scale.info), scale.info.dtype as 'F32', 'F32').slice().buffer);
      const shape = entry.info.shape;
      const rows = shape.slice(0, -1).reduce((n, d) => n * d, 1);
      const grid = scale.info.shape;
      // FineGrainedFP8Config's weight_block_size, [128, 128] by default (the grid alone cannot tell a ragged block).
      const declared = (subject.config.quantization_config as { weight_block_size?: unknown } | undefined)?.weight_block_size;
      const block: [number, number] = Array.isArray(declared) && declared.length === 2 ? [Number(declared[0]), Number(declared[1])] : [128, 128];
      checkFp8Layout(name, { shape, scaleShape: grid, block });
      return dequantizeFp8Rows({ shape, scaleShape: grid, block }, bytes, scales, 0, rows);
    }
    const f32 = convertFloatBytes(bytes, entry.info.dtype as 'F32' | 'BF16' | 'F16', 'F32', name);
    // A converted tensor is a fresh, aligned buffer of its own: view it. Only float32 as read may sit unaligned.
    const own = f32.byteOffset === 0 && f32.byteLength === f32.buffer.byteLength;
    return own ? new Float32Array(f32.buffer) : new Float32Array(f32.buffer.slice(f32.byteOffset, f32.byteOffset + f32.byteLength));
  };
  /** Selected rows of a 2-D float tensor, read by offset (the embedding and the head are never read whole). */
  const rowsOf = async (name: string, rows: readonly number[]): Promise<Float32Array | undefined> => {
    const entry = index.get(name);
    if (!entry || !['F32', 'BF16', 'F16'].includes(entry.info.dtype)) return undefined;
    const width = entry.info.shape[1]!;
    const size = (entry.info.end - entry.info.begin) / (entry.info.shape[0]! * width);
    const out = new Float32Array(rows.length * width);
    const handle = await open(entry.file, 'r');
    try {
      for (const [i, r] of rows.entries()) {
        const bytes = new Uint8Array(width * size);
        await handle.read(bytes, 0, bytes.length, entry.info.fileOffset + r * width * size);
        const f32 = convertFloatBytes(bytes, entry.info.dtype as 'F32' | 'BF16' | 'F16', 'F32', name);
        out.set(new Float32Array(f32.buffer, f32.byteOffset, width), i * width);
      }
    } finally {
      await handle.close();
    }
    return out;
  };
  const reference = new ReferenceLayers(facts, weight);
  let slices: LayerSlices;
  try {
    slices = await LayerSlices.open(graphPath, support.sessionOptions, host);
  } catch (error) {
    report.skip(VALIDATOR, CHECK, `the graph cannot be cut into layers: ${(error as Error).message}`);
    return;
  }
  const H = facts.hidden_size as number;
  const V = facts.vocab_size as number;
  const L = facts.num_hidden_layers as number;
  // Hidden states: embedding rows of a few token ids spread over the vocabulary (the same for both sides).
  const ids = Array.from({ length: SEQ }, (_, t) => (t * 7919 + 11) % V);
  const P = prefix(facts);
  const x = await rowsOf(`${P}.embed_tokens.weight`, ids);
  if (!x) {
    report.skip(VALIDATOR, CHECK, 'the embedding is not a float tensor the validator can read');
    return;
  }
  // Embedding rows are small; scale so attention is not trivially uniform.
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * 8;

  const results: Record<string, number> = {};
  let failed = false;
  let skippedHead = false;
  const layers = sampleLayers(facts);
  const columns = Array.from({ length: Math.min(HEAD_ROWS, V) }, (_, k) => Math.floor((k * V) / Math.min(HEAD_ROWS, V)));
  const layerInput = (i: number): string => slices.normInput(`${P}.layers.${i}.input_layernorm.weight`);
  const headInput = (): string => slices.normInput(`${P}.norm.weight`);
  // The graph's side runs in the onnxruntime process, slice after slice; the validator's own layers are computed
  // here meanwhile (overlap) or after it (within a memory budget: one layer's weights in memory at a time).
  const graphSide = (async () => {
    const got = new Map<number, Float32Array>();
    for (const layer of layers) {
      got.set(layer, await slices.run(layerInput(layer), layer + 1 < L ? layerInput(layer + 1) : headInput(), x.slice(), SEQ, H));
    }
    // The head: the sampled rows gathered before the graph's head matmul when the head is made of plain Gemm
    // parts (only the sampled rows when the parts are external data; else the stored parts, within half the
    // budget at bf16); else the whole head slice, which holds the float32 head, only within the budget.
    const sampled = await slices.runHeadRows(headInput(), columns, x.slice(), SEQ, H, V, V * H * 2 * 2 <= budgetBytes);
    if (sampled) return { got, head: 'rows gathered', logitAt: (t: number, k: number) => sampled[t * columns.length + k]! };
    if (V * H * 4 * 2 > budgetBytes) return { got };
    const logits = await slices.run(headInput(), 'logits', x.slice(), SEQ, H);
    return { got, head: 'whole head', logitAt: (t: number, k: number) => logits[t * V + columns[k]!]! };
  })();
  graphSide.catch(() => undefined); // awaited below; a rejection must not go unhandled while the reference runs
  try {
    if (!overlap) await graphSide;
    const want = new Map<number, Float32Array>();
    for (const layer of layers) want.set(layer, await reference.layer(layer, x.slice(), SEQ));
    const headRows = await rowsOf(facts.tie_word_embeddings === true ? `${P}.embed_tokens.weight` : 'lm_head.weight', columns);
    const wantHead = headRows ? await reference.head(x.slice(), SEQ, headRows, columns.length) : undefined;
    const graph = await graphSide;
    for (const layer of layers) {
      const expected = want.get(layer)!;
      const delta = maxDelta(expected, graph.got.get(layer)!) / Math.max(1, maxAbs(expected));
      results[`layer ${layer}`] = delta;
      if (!(delta <= support.tolerance)) failed = true;
    }
    if (graph.logitAt) {
      figures.layerSampleHead = graph.head;
      if (wantHead) {
        let delta = 0;
        for (let t = 0; t < SEQ; t++) {
          for (let k = 0; k < columns.length; k++) delta = Math.max(delta, Math.abs(wantHead[t * columns.length + k]! - graph.logitAt(t, k)));
        }
        results.head = delta / Math.max(1, maxAbs(wantHead));
        if (!(results.head <= support.tolerance)) failed = true;
      }
    } else {
      skippedHead = true;
    }
  } catch (error) {
    subject.signal?.throwIfAborted(); // Ctrl-C killed the onnxruntime process: not a finding
    if (isModelImportError(error) || error instanceof MissingTensorError) {
      report.fail(VALIDATOR, CHECK, error.message);
      return;
    }
    if (!(error instanceof SliceError)) throw error;
    report.skip(VALIDATOR, CHECK, `the graph cannot be cut into layers: ${error.message}`);
    return;
  }
  figures.layerSample = results;
  figures.layerSampleMs = Math.round(performance.now() - started);
  const text = Object.entries(results).map(([k, v]) => `${k} ${formatDelta(v)}`).join(', ') +
    (skippedHead ? ' (head not sampled: its float32 weights do not fit the memory budget)' : '');
  if (failed) report.fail(VALIDATOR, CHECK, `graph and reference disagree beyond ${support.tolerance} (relative): ${text}`);
  else report.pass(VALIDATOR, CHECK, text);
}

function maxDelta(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}
