/**
 * Conversion benchmark on a Qwen2.5-0.5B-shaped bf16 model (494,032,768 parameters, ~988 MB), measured side by
 * side with `cp` in the same run:
 *   - no dtype change (hard links)   target: <= 0.1 x the time cp takes for the weights
 *   - bf16 -> f32 (streamed rewrite) target: >= 0.5 x cp's throughput on the bytes written
 *   - peak RSS of the converting process  target: <= 300 MB
 *
 *   npx tsx plugins/arch-qwen/bench.ts [--dir <scratch folder>] [--keep]
 *
 * The model is generated from seeded data by the shared seeded-model writer (streaming safetensors writer) into a
 * temp folder.
 * Each conversion runs in a child process (so its peak RSS is its own), measured with /usr/bin/time -v when
 * present, else by polling VmHWM in /proc/<pid>/status.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHooks, NonInteractivePrompter, Reporter, type ConvertJob, type ImportPlan, type StageContext, type TargetDtype } from '../../src/index.js';
import { archQwen } from './index.js';
import { QWEN25_05B_CONFIG, writeSeededModel } from '../decoder-kit/testing.js';

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5] as TargetDtype | 'keep', process.argv[6] === 'onnx');
} else {
  await main();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const keep = args.includes('--keep');
  const dirArg = args.indexOf('--dir');
  const root = dirArg >= 0 ? args[dirArg + 1] : await mkdtemp(path.join(os.tmpdir(), 'arch-qwen-bench-'));
  const raw = path.join(root, 'raw');
  try {
    await mkdir(raw, { recursive: true });
    const t0 = performance.now();
    const weightsBytes = await writeBenchModel(raw);
    console.log(`generated ${mb(weightsBytes)} MB Qwen2.5-0.5B-shaped bf16 model in ${s(performance.now() - t0)} s (${raw})`);

    // cp's time swings with the page cache and writeback (GNU cp uses copy_file_range): three runs, median used.
    const cpRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      await mkdir(path.join(root, 'cp'), { recursive: true });
      cpRuns.push(timed(() => spawnSync('cp', [path.join(raw, 'model.safetensors'), path.join(root, 'cp', 'model.safetensors')], { stdio: 'inherit' })).seconds);
      await rm(path.join(root, 'cp'), { recursive: true, force: true });
    }
    const cp = { seconds: [...cpRuns].sort((a, b) => a - b)[1] };
    const cpThroughput = weightsBytes / cp.seconds;
    console.log(`cp: ${cpRuns.map((t) => t.toFixed(3)).join(' / ')} s, median ${cp.seconds.toFixed(3)} s = ${mb(cpThroughput)} MB/s`);

    // The machine's own ceiling for writing the f32 output: dd of the same byte count from /dev/zero, fsync'd.
    const f32Bytes = weightsBytes * 2;
    const dd = timed(() => spawnSync('dd', ['if=/dev/zero', `of=${path.join(root, 'dd.bin')}`, 'bs=16M', `count=${Math.ceil(f32Bytes / (16 << 20))}`, 'conv=fsync'], { stdio: 'ignore' }));
    await rm(path.join(root, 'dd.bin'), { force: true });
    console.log(`dd if=/dev/zero (${mb(f32Bytes)} MB, fsync): ${dd.seconds.toFixed(3)} s, ${mb(f32Bytes / dd.seconds)} MB/s (this disk's write ceiling)`);

    const link = await runChild(raw, path.join(root, 'out-keep'), 'keep');
    const f32 = await runChild(raw, path.join(root, 'out-f32'), 'f32');
    const f32Throughput = f32.bytesWritten / f32.seconds;
    const withOnnx = await runChild(raw, path.join(root, 'out-onnx'), 'keep', true);

    const rows = [
      ['no dtype change (link)', `${link.seconds.toFixed(3)} s`, `${(link.seconds / cp.seconds).toFixed(4)} x cp time`, '<= 0.1', ok(link.seconds / cp.seconds <= 0.1), `${mb(link.peakRss)} MB`],
      ['bf16 -> f32', `${f32.seconds.toFixed(3)} s, ${mb(f32.bytesWritten)} MB written`, `${(f32Throughput / cpThroughput).toFixed(2)} x cp throughput`, '>= 0.5', ok(f32Throughput / cpThroughput >= 0.5), `${mb(f32.peakRss)} MB`],
    ];
    console.log('\nscenario                 | time                          | ratio                  | target | ok  | peak RSS');
    for (const r of rows) console.log(`${r[0].padEnd(24)} | ${r[1].padEnd(29)} | ${r[2].padEnd(22)} | ${r[3].padEnd(6)} | ${r[4]} | ${r[5]}`);
    console.log(`bf16 -> f32 vs the dd write ceiling: ${(f32Throughput / (f32Bytes / dd.seconds)).toFixed(2)} x`);
    console.log(`no dtype change + onnx/model.onnx: ${withOnnx.seconds.toFixed(3)} s (${(withOnnx.seconds / cp.seconds).toFixed(3)} x cp time), peak RSS ${mb(withOnnx.peakRss)} MB`);
    const rssOk = Math.max(link.peakRss, f32.peakRss, withOnnx.peakRss) <= 300 * 1e6;
    console.log(`peak RSS <= 300 MB: ${ok(rssOk)} (${link.rssMethod})`);
  } finally {
    if (!keep) await rm(root, { recursive: true, force: true });
  }
}

interface ChildFigures {
  seconds: number;
  bytesWritten: number;
  peakRss: number;
  rssMethod: string;
}

async function runChild(raw: string, out: string, dtype: TargetDtype | 'keep', onnx = false): Promise<ChildFigures> {
  const nodeArgs = ['--import', 'tsx', SELF, '--child', raw, out, dtype, onnx ? 'onnx' : 'weights'];
  const useTime = existsSync('/usr/bin/time');
  const command = useTime ? '/usr/bin/time' : process.execPath;
  const args = useTime ? ['-v', process.execPath, ...nodeArgs] : nodeArgs;
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.resolve(path.dirname(SELF), '../..') });
  let stdout = '';
  let stderr = '';
  let hwm = 0;
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const poll = useTime
    ? undefined
    : setInterval(() => {
        readFile(`/proc/${proc.pid}/status`, 'utf8')
          .then((text) => {
            const m = /VmHWM:\s+(\d+) kB/.exec(text);
            if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
          })
          .catch(() => undefined);
      }, 20);
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`child ${dtype} failed (${code}):\n${stderr}`);
  const figures = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; bytesWritten: number };
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const peakRss = m ? Number(m[1]) * 1024 : hwm;
  return { ...figures, peakRss, rssMethod: m ? '/usr/bin/time -v' : '/proc VmHWM polling' };
}

/** In the child: one conversion through the plugin's hooks, timed from the convert call to its result. */
async function child(raw: string, out: string, dtype: TargetDtype | 'keep', onnx: boolean): Promise<void> {
  const hooks = createHooks();
  archQwen({ onnx }).apply({ hooks });
  const config = JSON.parse(await readFile(path.join(raw, 'config.json'), 'utf8'));
  const claim = hooks.recognize.for('Qwen2ForCausalLM').call(config, undefined)!;
  const options = { modelsDir: out, yes: true, acceptLicense: true, skipValidation: true, dtype: dtype === 'keep' ? undefined : dtype };
  const plan: ImportPlan = { source: 'local', resolvedBy: 'bench', modelId: 'bench/qwen2.5-0.5b-shaped', config, files: [], data: {}, claim, modelName: 'bench' };
  const context: StageContext = { reporter: new Reporter(), prompter: new NonInteractivePrompter(), signal: new AbortController().signal, options, env: {}, settings: {} };
  const job: ConvertJob = { plan, rawDir: raw, outDir: out };
  // Load the converter before timing: under tsx the first import compiles TypeScript, which a built install does not.
  await import('../decoder-kit/src/convert/convert-decoder.js');
  if (onnx) await import('../decoder-kit/src/onnx/index.js');
  const t0 = performance.now();
  const result = await hooks.convert.for('Qwen2ForCausalLM').promise(job, context);
  const seconds = (performance.now() - t0) / 1000;
  const details = result!.details as { bytesWritten?: number };
  console.log(JSON.stringify({ seconds, bytesWritten: details.bytesWritten ?? 0, parameters: result!.parameterCount }));
}

/** Qwen2.5-0.5B's config and 290 bf16 tensors of seeded values, streamed to disk by the shared seeded-model writer. */
async function writeBenchModel(dir: string): Promise<number> {
  await writeSeededModel(dir, { seed: 2024, family: 'qwen2', dtype: 'bf16', tied: true, config: QWEN25_05B_CONFIG });
  return (await stat(path.join(dir, 'model.safetensors'))).size;
}

function timed(run: () => { status: number | null }): { seconds: number } {
  const t0 = performance.now();
  const result = run();
  if (result.status !== 0) throw new Error('cp failed');
  return { seconds: (performance.now() - t0) / 1000 };
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
function s(ms: number): string {
  return (ms / 1000).toFixed(1);
}
function ok(value: boolean): string {
  return value ? 'yes' : 'NO ';
}
