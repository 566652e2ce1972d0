/**
 * The validation itself (the plugin object, which taps hooks.validate and loads this file on first use, is in
 * plugin.ts). It runs, in order, integrity (files, sha256 in verify mode,
 * strict safetensors, shard index, onnx/ weight links), then the forward pass (the whole graph in one
 * onnxruntime session plus a transformers.js cross-check; or, when the model's float32 weights exceed the memory
 * budget, the same graph segment by segment), then the memory figure. Every outcome is a finding; the kernel
 * judges. Only internal errors throw.
 */
import { writeFile } from 'node:fs/promises';
import { defaultMemoryBudget, safeJoin, type ValidationReport, type ValidationSubject } from '../../../src/index.js';
import { checkConfigReading } from './check-config-reading.js';
import { checkLayerSample } from './check-layer-sample.js';
import { checkFiles } from './check-files.js';
import { checkForward } from './check-forward.js';
import { checkSafetensors } from './check-safetensors.js';
import { checkTransformersJs } from './check-transformers-js.js';
import { formatBytes, formatMs } from './format.js';
import { VALIDATOR } from './name.js';
import { peakRssBytes, resetPeakRss } from './peak-memory.js';
import { DEFAULT_PROMPT, FALLBACK_IDS, eosTokenIds, preparePrompt } from './prompt.js';
import { OnnxProcess } from './onnx-process.js';
import { OrtDecoder } from './ort-decoder.js';
import { SegmentedDecoder } from './segmented-decoder.js';
import { TransformersJsWorker } from './transformers-js-client.js';

/**
 * Share of the memory budget one segment's weights may take in bounded mode. The rest covers what a segment
 * adds at run time (a float32 copy of the weight being cast, activations, the arena) and the process itself.
 */
const SEGMENT_SHARE = 4;

export interface ValidatorForwardOptions {
  /** Text of the forward-pass prompt (default "The capital of France is"). */
  prompt?: string;
  /** Token ids used when the folder has no tokenizer. */
  fallbackIds?: number[];
  /** Greedy tokens generated for the transformers.js comparison (default 3). */
  maxNewTokens?: number;
  /** Run the transformers.js check (default true). Tokenizing the prompt also needs it. */
  transformersJs?: boolean;
  /** Upper bound for each transformers.js model step (load, generate); default 10 minutes. */
  transformersJsTimeoutMs?: number;
  /**
   * Upper bound for loading the tokenizer and tokenizing the prompt; default 20 s. Past it the process is killed
   * (a pre-tokenizer regex that backtracks never yields), the forward pass runs on the fixed ids, and the
   * tokenizer check is a warning.
   */
  tokenizeTimeoutMs?: number;
  /** Diagnostic: write the prompt's logits there (float32, row-major [1, seq, vocab]) to compare runs. */
  logitsFile?: string;
}

export async function validateModel(subject: ValidationSubject, report: ValidationReport, options: ValidatorForwardOptions = {}): Promise<void> {
  const started = performance.now();
  const peakIsPerRun = resetPeakRss();
  const support = subject.claim.validation;
  const timeoutMs = options.transformersJsTimeoutMs ?? 600_000;
  // Includes the transformers.js import (~0.5 s) and the tokenizer.json parse; a real one takes ~1 s.
  const tokenizeTimeoutMs = options.tokenizeTimeoutMs ?? 20_000;
  // Started first so its transformers.js import and the tokenizer load overlap the integrity checks.
  let worker = support && options.transformersJs !== false ? TransformersJsWorker.start() : undefined;
  const promptText = options.prompt ?? DEFAULT_PROMPT;
  const tokenizing = worker?.ask({ type: 'tokenize', modelDir: subject.modelDir, prompt: promptText }, tokenizeTimeoutMs);
  // Ctrl-C: the transformers.js and onnxruntime processes go at once (onnxruntime-node runs each call
  // synchronously on its caller's thread, so it runs in a process of its own), and every step below checks the
  // signal before it starts.
  const signal = subject.signal;
  const onnx = support ? OnnxProcess.start(signal) : undefined;
  const stopWorker = () => worker?.kill();
  signal?.addEventListener('abort', stopWorker, { once: true });
  const step = () => signal?.throwIfAborted();
  try {
    report.start(VALIDATOR, 'files');
    const files = await checkFiles(subject, report);
    step();
    report.start(VALIDATOR, 'safetensors');
    const weights = await checkSafetensors(subject, report, files.bad);
    const facts = weights.unreadable ? undefined : await checkConfigReading(subject, report);
    step();
    if (!support) {
      report.skip(VALIDATOR, 'forward', `the ${subject.claim.adapter} adapter offers no ONNX graph for ${subject.claim.architecture}`);
      return;
    }
    if (files.bad.size > 0 || weights.unreadable) {
      report.skip(VALIDATOR, 'forward', 'not run: files are missing, damaged or unreadable (see above)');
      return;
    }

    // Without --max-memory: half of what the process may use (the cgroup limit when lower than the host RAM).
    const fallback = subject.options.maxMemory === undefined ? defaultMemoryBudget() : undefined;
    const budgetBytes = subject.options.maxMemory ?? fallback!.bytes;
    const budgetText = `${formatBytes(budgetBytes)}${fallback ? ` (half of ${fallback.source})` : ''}`;
    const float32Bytes = weights.parameterCount * 4;
    const bounded = float32Bytes > budgetBytes;
    const segmentBytes = Math.floor(budgetBytes / SEGMENT_SHARE);
    const graphPath = safeJoin(subject.modelDir, support.onnxGraph, 'onnx graph');
    // Opened before the prompt is known: the session load overlaps the tokenizer's.
    const decoder = bounded ? SegmentedDecoder.open(graphPath, support.sessionOptions ?? {}, segmentBytes, onnx) : OrtDecoder.open(graphPath, support.sessionOptions, onnx);
    decoder.catch(() => undefined); // checkForward reports it

    if (tokenizing) report.start(VALIDATOR, 'tokenizer');
    const prompt = await preparePrompt(tokenizing, promptText, options.fallbackIds ?? FALLBACK_IDS);
    step();
    if (prompt.tooSlow) {
      report.warn(VALIDATOR, 'tokenizer', prompt.tooSlow);
      // That process was killed; the model check needs no tokenizer, so a fresh one runs it.
      await worker?.close();
      worker = TransformersJsWorker.start();
    }
    if (prompt.failure) report.fail(VALIDATOR, 'tokenizer', prompt.failure);
    else if (prompt.source === 'tokenizer') report.pass(VALIDATOR, 'tokenizer', `${prompt.ids.length} ids`);
    if (bounded) {
      // Within a budget transformers.js does not run (it would load the whole graph): its process has done its
      // part once the prompt is tokenized, and its memory should not sit beside the segments'.
      await worker?.close();
      worker = undefined;
    }
    const figures: Record<string, unknown> = {
      mode: bounded ? 'segmented' : 'full',
      budgetBytes,
      budgetSource: fallback ? `half of ${fallback.source}` : '--max-memory',
      parameterCount: weights.parameterCount,
      prompt: prompt.text ?? null,
      promptSource: prompt.why ? `${prompt.source} (${prompt.why})` : prompt.source,
      promptIds: prompt.ids,
    };
    report.record('forward', figures);
    // transformers.js opens its session meanwhile (weights are mapped, not read, until it runs).
    const loading = worker && !bounded ? worker.ask({ type: 'load', modelDir: subject.modelDir }, timeoutMs) : undefined;

    step();
    const outcome = await checkForward({
      subject,
      report,
      support,
      promptIds: prompt.ids,
      eosIds: await eosTokenIds(subject.modelDir, subject.config),
      maxNewTokens: loading ? (options.maxNewTokens ?? 3) : 1,
      parameterCount: weights.parameterCount,
      figures,
      decoder,
      onePass: bounded,
      signal,
      describe: (opened) =>
        opened instanceof SegmentedDecoder
          ? `${opened.plan.segments} segments of ≤ ${formatBytes(Math.max(segmentBytes, opened.plan.largestSegmentBytes))} (budget ${budgetText})`
          : `session ${formatMs(opened.createMs)}`,
    });
    step();
    // What onnxruntime held for the whole graph (released by now); a new peak starts for the layer sample.
    const wholeGraphPeak = (await onnx?.peakRssBytes({ reset: true })) ?? 0;
    const mainPeakWholeGraph = peakRssBytes();
    resetPeakRss();
    let transformersJs: Promise<void> | undefined;
    if (outcome) {
      figures.nextToken = outcome.tokens[0];
      if (options.logitsFile) await writeFile(options.logitsFile, new Uint8Array(outcome.logits.buffer, outcome.logits.byteOffset, outcome.logits.byteLength));
      if (bounded) {
        report.skip(VALIDATOR, 'transformers.js', `float32 weights ${formatBytes(float32Bytes)} exceed the memory budget ${formatBytes(budgetBytes)}: transformers.js would load the whole graph at once`);
      } else if (!worker || !loading) {
        report.skip(VALIDATOR, 'transformers.js', 'switched off (transformersJs: false)');
      } else if (support.transformersJsUnsupported) {
        await loading; // let the worker finish before it is closed
        report.skip(VALIDATOR, 'transformers.js', support.transformersJsUnsupported);
      } else {
        report.start(VALIDATOR, 'transformers.js');
        transformersJs = checkTransformersJs({ report, worker, loading, promptIds: prompt.ids, expected: outcome.tokens, timeoutMs, figures });
        transformersJs.catch(() => undefined); // awaited below, after the layer sample it runs beside
      }
    } else if (loading) {
      await loading; // let the worker finish before it is closed
    }

    // After the whole-graph checks released their session: one layer's weights at a time, in the onnxruntime
    // process while transformers.js generates in its own (three processes on what were two idle ones). Within a
    // budget nothing overlaps: transformers.js does not run and the layers go one after the other.
    if (facts && outcome) {
      report.start(VALIDATOR, 'layer sample');
      const sampling = checkLayerSample(subject, report, facts, graphPath, support, figures, budgetBytes, onnx, !bounded);
      await Promise.allSettled([sampling, transformersJs]);
      await sampling;
    }
    await transformersJs;
    step();

    // Two phases: the whole graph (this process and the onnxruntime one side by side, transformers.js only
    // loading: its session maps the weights, it reads them when it generates), then the layer sample beside
    // transformers.js's generation. The peak of the tree is the larger of the two sums.
    const samplePeak = (await onnx?.peakRssBytes()) ?? 0;
    const childPeak = (figures.transformersJs as { peakRssBytes?: number } | undefined)?.peakRssBytes ?? 0;
    const childLoadPeak = (figures.transformersJs as { loadPeakRssBytes?: number } | undefined)?.loadPeakRssBytes ?? 0;
    const onnxPeak = Math.max(wholeGraphPeak, samplePeak);
    const mainPeakSample = peakRssBytes();
    const peak = Math.max(mainPeakWholeGraph + wholeGraphPeak + childLoadPeak, mainPeakSample + samplePeak + childPeak);
    // Each phase's share, so a peak above the budget says which process to look at.
    figures.peakRssPhases = {
      forward: { validator: mainPeakWholeGraph, onnxruntime: wholeGraphPeak, transformersJs: childLoadPeak },
      layerSample: { validator: mainPeakSample, onnxruntime: samplePeak, transformersJs: childPeak },
    };
    figures.peakRssBytes = peak;
    figures.onnxPeakRssBytes = onnxPeak;
    figures.peakRssScope = peakIsPerRun ? 'validation' : 'process lifetime';
    figures.totalMs = Math.round(performance.now() - started);
    const measured = `peak RSS ${formatBytes(peak)}${onnxPeak ? ` (onnxruntime process ${formatBytes(onnxPeak)})` : ''}${childPeak ? `, transformers.js ${formatBytes(childPeak)}` : ''}`;
    if (peak <= budgetBytes) report.pass(VALIDATOR, 'memory', `${measured} ≤ budget ${budgetText}`);
    else report.warn(VALIDATOR, 'memory', `${measured}: above the memory budget ${budgetText}`, { expected: budgetBytes, actual: peak });
  } finally {
    await Promise.all([worker?.close(), onnx?.close()]);
  }
}
