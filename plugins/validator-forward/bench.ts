/**
 * Validation benchmark on a Qwen2.5-0.5B-shaped, seeded bf16 model (494M parameters, tied head).
 *
 *   npx tsx plugins/validator-forward/bench.ts [--dir /tmp/x] [--keep] [--modes default,512MB] [--verify] [--tsx]
 *
 * Writes the model (streamed), the tiny tokenizer and the adapter's onnx/model.onnx into a folder (reused when
 * --dir already holds one), inventories it as the kernel does, compiles the project into a temp folder (what the
 * installed CLI runs; --tsx runs the sources through tsx instead), then for each mode starts a fresh `node`
 * child that runs the whole validate tap (validateModel) and reports its findings, figures, wall time and its
 * own peak RSS (VmHWM). The transformers.js check runs in a grandchild, whose peak is reported separately. A
 * child per mode keeps the figures honest: nothing the parent allocated counts. The prompt's logits of every
 * mode are written to a file and compared across modes.
 *
 * Targets (issue 5): default mode <= 5 s wall and <= 2.0 GB peak RSS; --max-memory 512MB mode <= 600 MB peak
 * RSS with logits equal to the default mode's within 1e-4.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import type { Finding } from '../../src/index.js';
import { buildDecoderGraph } from '../decoder-kit/index.js';
import { Qwen2Family } from '../arch-qwen/index.js';
import { QWEN25_05B_CONFIG, writeSeededModel } from '../decoder-kit/testing.js';
import { makeTinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer.js';
import { inventory } from './test-support/subject.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const MODES: Record<string, number | undefined> = { default: undefined, '512MB': 512 * 2 ** 20 };

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface ChildOutput {
  findings: Finding[];
  figures: Record<string, unknown>;
  validateMs: number;
  peakRssBytes: number;
}

/**
 * The child (plain ESM): one validate tap over the folder, under the given budget. `root` is the compiled
 * project (or the sources, under tsx); the claim comes from the real Qwen adapter's recognize tap.
 */
const CHILD = `
import { readFile } from 'node:fs/promises';
const [root, ext, subjectFile, maxMemoryText, logitsFile] = process.argv.slice(2);
const load = (p) => import(root + '/' + p + ext);
const { ValidationReport } = await load('src/index');
const { validateModel } = await load('plugins/validator-forward/index');
const { qwenClaim } = await load('plugins/validator-forward/test-support/tiny-model');
const saved = JSON.parse(await readFile(subjectFile, 'utf8'));
const maxMemory = maxMemoryText === 'default' ? undefined : Number(maxMemoryText);
// Inventoried once by the parent: hashing the folder for the subject is not what is measured.
const options = { modelsDir: saved.modelDir, yes: true, acceptLicense: true, skipValidation: false, maxMemory };
const subject = { modelDir: saved.modelDir, mode: saved.mode, config: saved.config, claim: qwenClaim(saved.config), expectedFiles: saved.expectedFiles, options };
const report = new ValidationReport();
const started = performance.now();
await validateModel(subject, report, { logitsFile });
const validateMs = performance.now() - started;
const peakRssBytes = Number(/VmHWM:\\s+(\\d+)/.exec(await readFile('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write('\\n@@' + JSON.stringify({ findings: report.findings, figures: report.figures, validateMs, peakRssBytes }) + '\\n');
`;

interface Runner {
  script: string;
  root: string;
  ext: string;
  execArgv: string[];
}

async function runChild(runner: Runner, subjectFile: string, mode: string, logitsFile: string): Promise<ChildOutput & { wallMs: number }> {
  const budget = MODES[mode];
  const args = [...runner.execArgv, runner.script, runner.root, runner.ext, subjectFile, budget === undefined ? 'default' : String(budget), logitsFile];
  const started = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d));
  proc.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  const wallMs = performance.now() - started;
  const line = stdout.split('\n').find((l) => l.startsWith('@@'));
  if (code !== 0 || !line) throw new Error(`child failed (${code}): ${stderr.slice(-3000)}`);
  return { ...(JSON.parse(line.slice(2)) as ChildOutput), wallMs };
}

/** Compiles the project (tsconfig.build.json) into `out`, with node_modules reachable from there. */
async function compile(out: string): Promise<void> {
  const t = performance.now();
  await promisify(execFile)(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', out]);
  await symlink(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
  console.log(`compiled the project in ${sec(performance.now() - t)}`);
}

async function ensureModel(dir: string): Promise<void> {
  const exists = await stat(path.join(dir, 'onnx', 'model.onnx')).then(() => true, () => false);
  if (exists) return;
  let t = performance.now();
  await writeSeededModel(dir, { seed: 7, family: 'qwen2', dtype: 'bf16', tied: true, config: QWEN25_05B_CONFIG });
  for (const [file, bytes] of Object.entries(makeTinyTokenizerFiles())) await writeFile(path.join(dir, file), bytes);
  console.log(`wrote the seeded Qwen2.5-0.5B-shaped bf16 model in ${sec(performance.now() - t)} to ${dir}`);
  t = performance.now();
  await buildDecoderGraph({ modelDir: dir, dims: new Qwen2Family().readDims(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).dims });
  console.log(`built onnx/model.onnx in ${sec(performance.now() - t)}`);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return NaN;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      modes: { type: 'string', default: 'default,512MB' },
      verify: { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
    },
  });
  const dir = values.dir ?? (await mkdtemp(path.join(tmpdir(), 'vf-bench-')));
  const scratch = await mkdtemp(path.join(tmpdir(), 'vf-bench-run-'));
  try {
    await ensureModel(dir);
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    const script = path.join(scratch, 'child.mjs');
    await writeFile(script, CHILD);
    let runner: Runner = { script, root: REPO, ext: '.ts', execArgv: ['--import', 'tsx'] };
    if (!values.tsx) {
      await compile(path.join(scratch, 'dist'));
      runner = { script, root: path.join(scratch, 'dist'), ext: '.js', execArgv: [] };
    }
    const subjectFile = path.join(scratch, 'subject.json');
    await writeFile(subjectFile, JSON.stringify({ modelDir: dir, mode: values.verify ? 'verify' : 'import', config, expectedFiles: await inventory(dir) }));

    const logits: Record<string, Float32Array> = {};
    for (const mode of values.modes!.split(',')) {
      if (!(mode in MODES)) throw new Error(`unknown mode ${mode}; known: ${Object.keys(MODES).join(', ')}`);
      const logitsFile = path.join(scratch, `${mode}.f32`);
      const out = await runChild(runner, subjectFile, mode, logitsFile);
      const fig = (out.figures.forward ?? {}) as Record<string, unknown>;
      const tjs = fig.transformersJs as { loadMs: number; generateMs: number; peakRssBytes: number } | undefined;
      console.log(`\n== mode ${mode}${MODES[mode] ? ` (maxMemory ${mb(MODES[mode]!)})` : ''}`);
      console.log(`child wall ${sec(out.wallMs)} | validate ${sec(out.validateMs)} | validator peak RSS ${mb(out.peakRssBytes)}` +
        (tjs ? ` | transformers.js child peak ${mb(tjs.peakRssBytes)} (load ${sec(tjs.loadMs)}, generate ${sec(tjs.generateMs)})` : ''));
      const timing = ['sessionCreateMs', 'forwardMs', 'decodeStepMs', 'referenceMs', 'layerwiseForwardMs', 'totalMs']
        .filter((k) => fig[k] !== undefined)
        .map((k) => `${k} ${JSON.stringify(fig[k])}`);
      console.log(timing.join(' | '));
      for (const f of out.findings) console.log(`  ${f.status.padEnd(4)} ${f.check.padEnd(16)} ${f.figure ?? f.message ?? ''}`);
      try {
        const bytes = await readFile(logitsFile);
        logits[mode] = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      } catch {
        // the mode produced no logits (its findings say why)
      }
    }
    const modes = Object.keys(logits);
    for (let i = 1; i < modes.length; i++) {
      console.log(`\nlogits ${modes[i]} vs ${modes[0]}: max |Δ| ${maxAbsDiff(logits[modes[i]], logits[modes[0]]).toExponential(2)}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    if (!values.keep && !values.dir) await rm(dir, { recursive: true, force: true });
  }
}

await main();
