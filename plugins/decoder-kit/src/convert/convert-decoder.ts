/**
 * The convert tap: fetched files in job.rawDir -> the local format in job.outDir (safetensors with Hugging Face
 * names, config, generation config, tokenizer, license, onnx/model.onnx). Writes only inside outDir.
 *
 * Weights are linked (no byte copied) when the files already have the target layout: safetensors, every tensor
 * in the target dtype, every shard within --max-shard-size. Otherwise they are rewritten tensor by tensor.
 */
import { mkdir } from 'node:fs/promises';
import {
  safeJoin,
  type ComponentReport,
  type ConvertJob,
  type ConvertResult,
  type ModelConfig,
  type StageContext,
  type TargetDtype,
} from '../../../../src/index.js';
import type { DecoderFamily } from '../family/decoder-family.js';
import type { DecoderPluginOptions } from '../decoder-plugin-options.js';
import { checkInventory, type Inventory } from '../inventory/check-inventory.js';
import { countParameters } from '../describe/count-parameters.js';
import { openCheckpoint, type SourceCheckpoint } from '../weights/source-checkpoint.js';
import { linkOrCopy } from '../weights/link-or-copy.js';
import { rewriteWeights, planTensors } from '../weights/rewrite-weights.js';
import { sameValues } from '../weights/same-values.js';
import type { FloatDtype } from '../weights/formats.js';
import { copyGenerationConfig, copyLicense, copyTokenizer, writeConfig } from './side-files.js';
import { buildOnnx } from './onnx-step.js';
import { readJsonConfig } from './read-json-config.js';
import { readQuantization } from '../config/read-quantization.js';
import { dequantizedFp8 } from '../weights/dequantized-fp8.js';

const TO_FILE: Record<TargetDtype, FloatDtype> = { bf16: 'BF16', f16: 'F16', f32: 'F32' };
const FROM_FILE: Record<string, TargetDtype> = { BF16: 'bf16', F16: 'f16', F32: 'f32' };
const DEFAULT_CHUNK_BYTES = 8 << 20;

export async function convertDecoder(family: DecoderFamily, job: ConvertJob, context: StageContext, options: DecoderPluginOptions): Promise<ConvertResult> {
  const { rawDir, outDir } = job;
  const { reporter, signal } = context;
  const importOptions = context.options;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const components: ComponentReport[] = [];
  const report = (c: ComponentReport) => {
    components.push(c);
    reporter.component(c);
  };

  const config: ModelConfig = (await readJsonConfig(rawDir)) ?? job.plan.config;
  const { dims } = family.readDims(config);
  await mkdir(outDir, { recursive: true });

  // FP8 block-quantised checkpoints are dequantised: to --dtype, else bf16 (README "Quantised checkpoints").
  const quantization = readQuantization(family.architecture, config.quantization_config);
  const target = importOptions.dtype ?? (quantization ? 'bf16' : undefined);
  const opened = await openCheckpoint(rawDir);
  let weights: WeightsOutcome;
  try {
    const fp8 = quantization ? dequantizedFp8(opened.tensors, quantization) : undefined;
    const checkpoint = fp8 ? { ...opened, tensors: fp8.tensors } : opened;
    const inventory = checkInventory(family, dims, checkpoint.tensors);
    if (fp8 && quantization) {
      // The float32 view of the FP8 weights is an artefact of dequantising, not a mix in the checkpoint.
      inventory.warnings = inventory.warnings.filter((w) => !w.startsWith('the checkpoint mixes dtypes'));
    }
    weights = await writeWeights(checkpoint, inventory, family.keptParts.length > 0, {
      outDir,
      rawDir,
      target,
      fp8: fp8 && quantization ? { ...fp8, blockSize: quantization.blockSize } : undefined,
      maxShardSize: importOptions.maxShardSize,
      configDtype: dims.configDtype,
      chunkBytes,
      signal,
      context,
    });
  } finally {
    await opened.close();
  }
  report(weights.report);

  const written = FROM_FILE[weights.dtype];
  report(await writeConfig(rawDir, outDir, job.plan.config, {
    from: dims.configDtype,
    to: weights.changedDtype || quantization ? written : undefined,
    dequantized: quantization !== undefined,
  }, (published) => family.editPublishedConfig(published, dims)));
  report(await copyGenerationConfig(rawDir, outDir));
  report(await copyTokenizer(rawDir, outDir));
  report(await copyLicense(rawDir, outDir));
  if (family.coversGraph(dims) && options.onnx !== false) {
    signal.throwIfAborted();
    report(await buildOnnx(outDir, weights.files, dims));
  }

  return {
    components,
    parameterCount: weights.parameterCount,
    dtype: written ?? weights.dtype.toLowerCase(),
    details: weights.details,
    fileHashes: weights.fileHashes,
  };
}

interface WeightsOutcome {
  report: ComponentReport;
  parameterCount: number;
  /** Weight files written to outDir (index first when sharded). */
  files: string[];
  /** safetensors dtype of (most of) the written weights. */
  dtype: string;
  changedDtype: boolean;
  details: Record<string, unknown>;
  /** sha256 of weight files written here (none when linked). */
  fileHashes?: Record<string, string>;
}

interface WeightsJob {
  outDir: string;
  rawDir: string;
  target?: TargetDtype;
  maxShardSize?: number;
  configDtype?: TargetDtype;
  /** The FP8 weights dequantised in the checkpoint's view (always rewritten, never linked). */
  fp8?: { dequantized: string[]; scales: string[]; blockSize: [number, number] };
  chunkBytes: number;
  signal: AbortSignal;
  context: StageContext;
}

async function writeWeights(checkpoint: SourceCheckpoint, inventory: Inventory, recordParts: boolean, job: WeightsJob): Promise<WeightsOutcome> {
  const warnings = [...checkpoint.warnings, ...inventory.warnings];
  const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
  const kept = inventory.keep.map((name) => byName.get(name)!);
  // Source order (file, then offset): rewriting then reads each file front to back.
  const order = new Map(checkpoint.tensors.map((t, i) => [t.name, i]));
  kept.sort((a, b) => order.get(a.name)! - order.get(b.name)!);

  let tiedNote = '';
  if (inventory.tiedCopy) {
    const equal = await sameValues(byName.get('lm_head.weight')!, byName.get('model.embed_tokens.weight')!, job.chunkBytes, job.signal);
    if (equal) tiedNote = '; tied lm_head copy equals embed_tokens (ignored)';
    else warnings.push('lm_head.weight differs from model.embed_tokens.weight although tie_word_embeddings is true: transformers uses embed_tokens, the lm_head copy is ignored');
  }
  const weightDtype = FROM_FILE[inventory.dtype];
  if (job.configDtype && weightDtype && job.configDtype !== weightDtype && inventory.dtypes.length === 1) {
    warnings.push(`config.json says ${job.configDtype} but the weights are ${weightDtype}`);
  }

  const target = job.target ? TO_FILE[job.target] : undefined;
  const dtypeOk = target === undefined || kept.every((t) => t.dtype === target);
  const shardsOk = job.maxShardSize === undefined || checkpoint.shards.every((s) => s.size <= job.maxShardSize!);
  const dequantized = job.fp8 !== undefined && job.fp8.dequantized.length > 0;
  const parameterCount = countParameters(kept);
  const outDtype = target ?? inventory.dtype;
  const changedDtype = target !== undefined && !(inventory.dtypes.length === 1 && inventory.dtype === target);

  if (checkpoint.format === 'safetensors' && dtypeOk && shardsOk && !dequantized) {
    let copied = 0;
    for (const file of checkpoint.files) {
      const how = await linkOrCopy(safeJoin(job.rawDir, file, 'weights file'), safeJoin(job.outDir, file, 'weights file'), job.context.reporter);
      if (how === 'copied') copied++;
    }
    if (copied > 0) warnings.push(`${copied} weight file(s) copied instead of hard-linked: the models folder is on another device than the staging folder`);
    const extras = inventory.extras.length + (inventory.tiedCopy ? 1 : 0);
    const detail = `${kept.length} tensors, ${outDtype.toLowerCase()}, ${checkpoint.shards.length} file(s) ${copied ? 'copied' : 'linked (no copy)'}${tiedNote}${extras ? `; ${extras} extra tensor(s) left in place` : ''}${partsNote(inventory, 'kept as published')}`;
    return {
      report: { component: 'weights', status: warnings.length ? 'warning' : 'ok', detail, warnings },
      parameterCount,
      files: checkpoint.files,
      dtype: outDtype,
      changedDtype: false,
      details: { weights: 'linked', files: checkpoint.files, tensors: kept.length, sourceFormat: checkpoint.format, bytesCopied: 0,
        ...(recordParts ? { parts: partsRecord(inventory, byName, 'as published') } : {}) },
    };
  }

  const total = planTensors(kept, target).reduce((n, t) => n + t.byteLength, 0);
  const task = job.context.reporter.task('convert weights', total, 'convert');
  let result;
  try {
    result = await rewriteWeights(kept, { outDir: job.outDir, dtype: target, maxShardSize: job.maxShardSize, chunkBytes: job.chunkBytes, signal: job.signal, task });
    task.end('done');
  } catch (error) {
    task.end('failed');
    throw error;
  }
  warnings.push(...result.warnings);
  const dropped = inventory.extras.length + (inventory.tiedCopy ? 1 : 0);
  if (dropped > 0) warnings.push(`${dropped} tensor(s) not part of the model were not written (${[...inventory.extras, ...(inventory.tiedCopy ? ['lm_head.weight'] : [])].slice(0, 3).join(', ')})`);
  const why = [
    checkpoint.format === 'pytorch' ? 'pytorch_model*.bin converted to safetensors' : undefined,
    dequantized ? `${job.fp8!.dequantized.length} fp8 weights dequantised (${job.fp8!.blockSize.join('x')} blocks), ${job.fp8!.scales.length} weight_scale_inv dropped` : undefined,
    changedDtype && !dequantized ? `${inventory.dtypes.join('+').toLowerCase()} -> ${outDtype.toLowerCase()}` : undefined,
    job.maxShardSize !== undefined ? `resharded to <= ${job.maxShardSize} bytes` : undefined,
  ].filter(Boolean);
  const partsHow = changedDtype ? `converted to ${outDtype.toLowerCase()} with the rest` : 'written unchanged';
  if (changedDtype && inventory.parts.length > 0) {
    warnings.push(`${inventory.parts.map((p) => `the ${p.part} (${p.tensors.length} tensors)`).join(' and ')} ${inventory.parts.length > 1 ? 'were' : 'was'} converted to ${outDtype.toLowerCase()} too, although only the text decoder is validated`);
  }
  const detail = `${kept.length} tensors, ${outDtype.toLowerCase()}, ${result.shards.length} file(s) written (${why.join(', ') || 'rewritten'})${tiedNote}${partsNote(inventory, partsHow)}`;
  return {
    report: { component: 'weights', status: warnings.length ? 'warning' : 'ok', detail, warnings },
    parameterCount,
    files: result.files,
    dtype: outDtype,
    changedDtype,
    details: {
      weights: 'rewritten', files: result.files, tensors: kept.length, sourceFormat: checkpoint.format, bytesWritten: result.bytesWritten,
      ...(recordParts ? { parts: partsRecord(inventory, byName, partsHow) } : {}),
      // What the source was and what it became, for metadata.conversion.
      ...(dequantized ? { quantization: { source: 'fp8', format: 'F8_E4M3', weightBlockSize: job.fp8!.blockSize, dequantizedTo: outDtype.toLowerCase(), tensors: job.fp8!.dequantized.length, scalesDropped: job.fp8!.scales.length } } : {}),
    },
    fileHashes: result.fileHashes,
  };
}

/** "; kept as published, not validated: 12 vision tower + 3 MTP head tensors" (empty without kept parts). */
function partsNote(inventory: Inventory, how: string): string {
  if (inventory.parts.length === 0) return '';
  return `; ${how}, not validated: ${inventory.parts.map((p) => `${p.tensors.length} ${p.part}`).join(' + ')} tensors`;
}

/**
 * metadata.conversion.details.parts: which tensors are the text decoder (what the forward checks compute) and
 * which parts were kept beside it without being computed, with their counts and what happened to their bytes.
 */
function partsRecord(inventory: Inventory, byName: ReadonlyMap<string, SourceCheckpoint['tensors'][number]>, how: string): Record<string, unknown> {
  const inParts = new Set(inventory.parts.flatMap((p) => p.tensors));
  const decoder = inventory.keep.filter((n) => !inParts.has(n)).map((n) => byName.get(n)!);
  return {
    text_decoder: { tensors: decoder.length, parameters: countParameters(decoder) },
    kept_not_validated: inventory.parts.map((p) => ({
      part: p.part,
      prefix: p.prefix,
      tensors: p.tensors.length,
      parameters: countParameters(p.tensors.map((n) => byName.get(n)!)),
      bytes: how,
    })),
  };
}
