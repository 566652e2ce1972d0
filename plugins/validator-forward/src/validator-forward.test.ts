import { open, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHooks, readSafetensorsHeader, ValidationReport, type ModelImportPlugin, type ValidationSubject } from '../../../src/index.js';
import { scaleGraphOutput } from '../test-support/onnx-surgery.js';
import { makeSubject } from '../test-support/subject.js';
import { makeTinyModelDir, qwenClaim } from '../test-support/tiny-model.js';
import { validateModel } from './validator-forward.js';
import { validatorForward } from './plugin.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tinyModel(options: Parameters<typeof makeTinyModelDir>[0] = {}) {
  const made = await makeTinyModelDir(options);
  dirs.push(made.dir);
  return made;
}

async function validate(subject: ValidationSubject, options: Parameters<typeof validateModel>[2] = {}) {
  const report = new ValidationReport();
  await validateModel(subject, report, options);
  const table = Object.fromEntries(report.findings.map((f) => [f.check, f.status]));
  return { report, table, figures: report.figures.forward as Record<string, unknown> };
}

/** This process's live children (pid and command line), read from /proc. */
async function childProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') found.push(`${entry} ${(await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Adds `delta` to every bf16 value of one tensor of the root model.safetensors, written as a new file. */
async function perturbTensor(dir: string, tensorName: string, delta: number): Promise<void> {
  const file = path.join(dir, 'model.safetensors');
  const header = await readSafetensorsHeader(file);
  const tensor = header.tensors.find((t) => t.name === tensorName)!;
  const bytes = await readFile(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f32 = new DataView(new ArrayBuffer(4));
  for (let at = tensor.fileOffset; at < tensor.fileOffset + (tensor.end - tensor.begin); at += 2) {
    f32.setUint32(0, view.getUint16(at, true) << 16);
    f32.setFloat32(0, f32.getFloat32(0) + delta);
    view.setUint16(at, f32.getUint32(0) >>> 16, true);
  }
  // A new file (new inode): the graph's hard link onnx/model.safetensors keeps the converted bytes.
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

describe('validatorForward', () => {
  it('validates a tiny Qwen2 folder: integrity, onnxruntime, KV cache, reference, transformers.js, memory', async () => {
    const { dir, config } = await tinyModel({ seed: 11 });
    const { report, table, figures } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }));
    expect(report.failures).toEqual([]);
    expect(table).toEqual({
      files: 'pass',
      safetensors: 'pass',
      'weight-links': 'pass',
      'config reading': 'pass',
      'tensor names': 'pass',
      tokenizer: 'pass',
      load: 'pass',
      logits: 'pass',
      reference: 'pass',
      'kv-cache': 'pass',
      'transformers.js': 'pass',
      'layer sample': 'pass',
      memory: 'pass',
    });
    const seq = (figures.promptIds as number[]).length;
    expect(figures).toMatchObject({
      mode: 'full',
      prompt: 'The capital of France is',
      promptSource: 'tokenizer',
      logitsShape: [1, seq, 320],
      peakRssScope: 'validation',
    });
    expect(figures.referenceMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(figures.kvCacheMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    for (const key of ['sessionCreateMs', 'promptPassMs', 'referenceMs', 'totalMs', 'peakRssBytes']) expect(figures[key]).toBeGreaterThan(0);
    expect((figures.transformersJs as { tokens: number[] }).tokens).toEqual(figures.greedyTokens);
    expect(figures.greedyTokens).toHaveLength(3);
    // The layer sample runs beside transformers.js's generation: the tree's peak counts that process too.
    const tjs = figures.transformersJs as { peakRssBytes: number };
    expect(figures.peakRssBytes as number).toBeGreaterThan(tjs.peakRssBytes + (figures.onnxPeakRssBytes as number) / 4);
    expect(report.findings.find((f) => f.check === 'reference')?.figure).toMatch(/^max \|Δ\| \S+ ≤ 1e-4$/);
  });

  it('validates a sharded Qwen3 f32 folder without a tokenizer on fixed ids', async () => {
    const { dir, config } = await tinyModel({ family: 'qwen3', dtype: 'f32', shards: 2, tokenizer: false, tied: false, seed: 3 });
    const { report, table, figures } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }));
    expect(report.failures).toEqual([]);
    expect(table).toMatchObject({ 'shard-index': 'pass', reference: 'pass', 'kv-cache': 'pass', 'transformers.js': 'pass' });
    expect(figures).toMatchObject({ prompt: null, promptIds: [9, 8, 7, 6, 5, 4] });
    expect(figures.promptSource).toMatch(/^fixed ids \(no tokenizer\.json \/ tokenizer_config\.json\)$/);
  });

  it('fails the tokenizer check when transformers.js cannot load the tokenizer, and still runs on fixed ids', async () => {
    const { dir, config } = await tinyModel();
    await writeFile(path.join(dir, 'tokenizer.json'), '{"model": ');
    const { report, table, figures } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }));
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([
      ['tokenizer', expect.stringMatching(/^transformers\.js could not tokenize the prompt: .+/)],
    ]);
    expect(table).toMatchObject({ logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'transformers.js': 'pass' });
    expect(figures).toMatchObject({ promptIds: [9, 8, 7, 6, 5, 4], promptSource: 'fixed ids (the tokenizer failed)' });
  });

  it('stops a tokenizer whose regex backtracks catastrophically: the process is killed, fixed ids, a warning', async () => {
    const { dir, config } = await tinyModel();
    // (a+)+$ on a long run of 'a' that does not end the text tries every split of the run: 2^40 steps.
    const file = path.join(dir, 'tokenizer.json');
    const tokenizer = JSON.parse(await readFile(file, 'utf8'));
    tokenizer.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false };
    await writeFile(file, JSON.stringify(tokenizer));
    const { report, table, figures } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }), {
      prompt: `${'a'.repeat(40)}!`,
      tokenizeTimeoutMs: 3000,
    });
    expect(report.findings.find((f) => f.check === 'tokenizer')).toMatchObject({
      status: 'warn',
      message: 'the tokenizer took too long: transformers.js gave no answer within 3.0 s; ran on fixed ids instead',
    });
    expect(report.failures).toEqual([]);
    // The model check ran in a fresh process: the killed one held only the tokenizer.
    expect(table).toMatchObject({ logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'transformers.js': 'pass' });
    expect(figures).toMatchObject({ prompt: null, promptIds: [9, 8, 7, 6, 5, 4], promptSource: 'fixed ids (the tokenizer took too long)' });
    expect(await childProcesses()).toEqual([]);
  });

  it('fails the reference check, with the max difference, when a weight is perturbed after conversion', async () => {
    const { dir, config } = await tinyModel({ seed: 5 });
    await perturbTensor(dir, 'model.layers.1.mlp.down_proj.weight', 0.25);
    // Inventoried after the edit, as the kernel does: sizes and hashes agree, so files and sha256 pass.
    const { report, table } = await validate(await makeSubject(dir, { claim: qwenClaim(config), mode: 'verify' }));
    expect(table).toMatchObject({ files: 'pass', sha256: 'pass', safetensors: 'pass', 'weight-links': 'fail', reference: 'fail' });
    const reference = report.failures.find((f) => f.check === 'reference')!;
    expect(reference.message).toMatch(/^logits differ from reference: max \|Δ\| \d\.\de-?\d+ > 1e-4 at \[0,\d+,\d+\]$/);
    expect(reference.actual).toBeGreaterThan(1e-2);
  });

  it('fails integrity for a truncated weight file and does not run the forward pass', async () => {
    const { dir, config } = await tinyModel();
    const subject = await makeSubject(dir, { claim: qwenClaim(config) });
    await truncate(path.join(dir, 'model.safetensors'), (await readFile(path.join(dir, 'model.safetensors'))).length - 10);
    const { report, table } = await validate(subject);
    expect(report.failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/^model\.safetensors is [\d,]+ bytes, expected [\d,]+ \(truncated by 10 bytes\)$/),
      expect.stringMatching(/^onnx\/model\.safetensors is [\d,]+ bytes, expected [\d,]+ \(truncated by 10 bytes\)$/),
    ]);
    expect(table.forward).toBe('skip');
    expect(table.load).toBeUndefined();
  });

  it('finds a single flipped bit when verifying', async () => {
    const { dir, config } = await tinyModel();
    const subject = await makeSubject(dir, { claim: qwenClaim(config), mode: 'verify' });
    const handle = await open(path.join(dir, 'onnx', 'model.onnx'), 'r+');
    const byte = new Uint8Array(1);
    await handle.read(byte, 0, 1, 100);
    await handle.write(new Uint8Array([byte[0] ^ 0x04]), 0, 1, 100);
    await handle.close();
    const { report, table } = await validate(subject);
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([['sha256', expect.stringMatching(/^onnx\/model\.onnx content changed/)]]);
    expect(table.forward).toBe('skip');
  });

  it('fails the kv-cache check when the cache the graph returns is wrong', async () => {
    const { dir, config } = await tinyModel({ seed: 9 });
    await scaleGraphOutput(path.join(dir, 'onnx', 'model.onnx'), 'present.1.value', 1.5);
    const { report, table } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }), { transformersJs: false });
    expect(table).toMatchObject({ logits: 'pass', reference: 'pass', 'kv-cache': 'fail' });
    expect(report.failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/^decode step with the KV cache \(left-padded row\) differs from the full sequence: max \|Δ\| \S+ > 1e-4 at \[0,\d+,\d+\]$/),
    ]);
  });

  it('fails the load check with onnxruntime\'s reason when the graph does not load', async () => {
    const { dir, config } = await tinyModel();
    await writeFile(path.join(dir, 'onnx', 'model.onnx'), 'not a graph');
    const { report } = await validate(await makeSubject(dir, { claim: qwenClaim(config) }), { transformersJs: false });
    expect(report.failures.map((f) => [f.check, f.message])).toEqual([['load', expect.stringMatching(/^onnx\/model\.onnx did not load in onnxruntime: .+/)]]);
  });

  it('skips the forward pass, saying why, when the adapter offers no graph', async () => {
    const { dir, config } = await tinyModel({ graph: false });
    const claim = qwenClaim(config, { onnx: false });
    const { report, table } = await validate(await makeSubject(dir, { claim }));
    expect(report.failures).toEqual([]);
    expect(table.forward).toBe('skip');
    expect(report.findings.find((f) => f.check === 'forward')?.message).toBe(
      'the model-import/arch-qwen adapter offers no ONNX graph for Qwen2ForCausalLM',
    );
  });

  it('skips the reference comparison above the adapter\'s reference limit', async () => {
    const { dir, config } = await tinyModel();
    const { report, table } = await validate(await makeSubject(dir, { claim: qwenClaim(config, { maxReferenceParameters: 1000 }) }), {
      transformersJs: false,
    });
    expect(table).toMatchObject({ logits: 'pass', reference: 'skip', 'kv-cache': 'pass' });
    expect(report.findings.find((f) => f.check === 'reference')?.message).toMatch(/^[\d,]+ parameters, above the reference forward's limit of 1,000$/);
  });
});

describe('bounded memory', () => {
  it('runs the graph segment by segment when the float32 weights exceed the budget, with the full mode\'s logits', async () => {
    const { dir, config } = await tinyModel({ seed: 21 });
    const claim = qwenClaim(config);
    const fullFile = path.join(os.tmpdir(), `vf-full-${process.pid}.f32`);
    const boundedFile = path.join(os.tmpdir(), `vf-bounded-${process.pid}.f32`);
    try {
      const full = await validate(await makeSubject(dir, { claim }), { transformersJs: false, logitsFile: fullFile });
      // 379 KB of float32 weights > 200 KB: segments of <= 50 KB of (bf16) weights each
      const bounded = await validate(await makeSubject(dir, { claim, options: { maxMemory: 200_000 } }), {
        transformersJs: false,
        logitsFile: boundedFile,
      });
      expect(full.report.failures).toEqual([]);
      expect(bounded.report.failures).toEqual([]);
      expect(bounded.table).toMatchObject({ load: 'pass', logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'transformers.js': 'skip', memory: 'warn' });
      expect(bounded.report.findings.find((f) => f.check === 'load')?.figure).toMatch(/^\d+ segments of ≤ [\d.]+ KB \(budget 200\.0 KB\)$/);
      expect(bounded.report.findings.find((f) => f.check === 'transformers.js')?.message).toBe(
        'float32 weights 379.1 KB exceed the memory budget 200.0 KB: transformers.js would load the whole graph at once',
      );
      expect(bounded.figures).toMatchObject({ mode: 'segmented', budgetBytes: 200_000, nextToken: full.figures.nextToken });
      expect(bounded.figures.kvCacheMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      const a = new Float32Array((await readFile(fullFile)).buffer.slice(0));
      const b = new Float32Array((await readFile(boundedFile)).buffer.slice(0));
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThan(0);
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeLessThanOrEqual(1e-4);
    } finally {
      await rm(fullFile, { force: true });
      await rm(boundedFile, { force: true });
    }
  });
});

describe('validators are plugins', () => {
  it('collects a third-party validator\'s finding next to this one\'s', async () => {
    const { dir, config } = await tinyModel();
    await rm(path.join(dir, 'LICENSE'));
    const thirdParty: ModelImportPlugin = {
      name: 'acme/license-file',
      kind: 'validator',
      apply({ hooks }) {
        hooks.validate.tapPromise('acme/license-file', async (subject, report) => {
          const has = subject.expectedFiles.some((f) => f.path === 'LICENSE');
          if (has) report.pass('acme/license-file', 'license-file', 'LICENSE present');
          else report.warn('acme/license-file', 'license-file', 'no LICENSE file in the model folder');
          report.record('acme', { checked: true });
        });
      },
    };
    const hooks = createHooks();
    validatorForward({ transformersJs: false }).apply({ hooks });
    thirdParty.apply({ hooks });
    const report = new ValidationReport();
    await hooks.validate.promise(await makeSubject(dir, { claim: qwenClaim(config) }), report);
    expect(report.findings.at(-1)).toEqual({
      validator: 'acme/license-file',
      check: 'license-file',
      status: 'warn',
      message: 'no LICENSE file in the model folder',
    });
    expect(report.findings.filter((f) => f.validator === 'model-import/validator-forward').map((f) => f.check)).toContain('reference');
    expect(report.figures).toMatchObject({ acme: { checked: true }, forward: { mode: 'full' } });
    expect(report.passed).toBe(true);
  });
});
