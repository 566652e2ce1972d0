/**
 * Benchmark of the Hugging Face source's downloads against the fake hub on loopback, side by side with
 * `curl -s URL | tee FILE | openssl dgst -sha256` (the same bytes fetched, hashed and written).
 *
 *   npx tsx plugins/source-huggingface/bench.ts [--size-mb 1024] [--throttled-size-mb 256] [--runs 3]
 *
 * Prints wall times, the ratio ours / curl (target <= 1.1), the throttled speed-up over one connection
 * (target >= 4 at 25 MB/s per connection) and our peak RSS (target <= 200 MB).
 * The hub and each download run in their own processes, so neither skews the other's event loop or RSS.
 * Our side times the fetch stage only (resolve and authorize are a few small requests, not part of the file).
 *
 * Knobs for experiments: BENCH_TSX=1 (downloads under tsx, not a bundle), BENCH_CONNECTIONS (default 8), BENCH_CHUNK_MIB (range size), BENCH_NODE_FLAGS (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_DEBUG=1 (memory before/after the fetch).
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const MB = 1e6;
const MiB = 2 ** 20;
const REPO = 'bench/big';
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

// ---- child: the fake hub ------------------------------------------------------------------------------------
async function serve(sizeBytes: number): Promise<void> {
  const { startFakeHub, lazyPatternFile } = await import('../../test/fake-hub/index.js');
  const text = (s: string) => new TextEncoder().encode(s);
  const weights = lazyPatternFile(sizeBytes, 11); // generated on the fly: the hub holds 2 MiB, not the file
  const hub = await startFakeHub({
    repos: [
      {
        id: REPO,
        files: { 'config.json': text(JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' })) },
        lazyFiles: { 'model.safetensors': weights },
      },
    ],
  });
  process.on('message', (m: { throttle?: number | null }) => {
    hub.setThrottle(m.throttle ?? undefined);
    process.send!({ ok: true });
  });
  process.send!({ url: hub.url, sha256: weights.sha256 });
}

// ---- child: one download with the plugin ----------------------------------------------------------------------
async function download(endpoint: string, dir: string, connections: number): Promise<void> {
  const { createHooks, NonInteractivePrompter, Reporter } = await import('../../src/index.js');
  const { sourceHuggingface } = await import('./index.js');
  const hooks = createHooks();
  const chunkMiB = Number(process.env.BENCH_CHUNK_MIB) || undefined;
  sourceHuggingface({ connections, ...(chunkMiB ? { chunkSize: chunkMiB * MiB } : {}) }).apply({ hooks });
  const options = { modelsDir: dir, yes: true, acceptLicense: true, skipValidation: true };
  const ctx = {
    reporter: new Reporter(),
    prompter: new NonInteractivePrompter(),
    signal: new AbortController().signal,
    options,
    env: { HF_ENDPOINT: endpoint, HF_HOME: path.join(dir, 'hf-home') },
    settings: {},
  };
  const source = await hooks.resolve.promise({ spec: REPO, options }, ctx);
  const plan = { ...source!, files: source!.files.filter((f) => f.role === 'weights'), claim: {} as never, modelName: 'bench' };
  await hooks.authorize.promise(plan, ctx);
  if (process.env.BENCH_DEBUG) console.error('before fetch', process.memoryUsage(), process.resourceUsage().maxRSS / 1024);
  const started = performance.now();
  const result = await hooks.fetch.promise(plan, { ...ctx, rawDir: path.join(dir, 'raw'), partialDir: path.join(dir, 'partial') });
  const ms = performance.now() - started;
  if (process.env.BENCH_DEBUG) console.error('after fetch', process.memoryUsage(), process.resourceUsage().maxRSS / 1024);
  const usage = process.resourceUsage();
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  process.send!({ ms, cpuMs, maxRssMB: (usage.maxRSS * 1024) / MB, sha256: result!.files[0].sha256 });
}

// ---- parent ---------------------------------------------------------------------------------------------------
function spawnChild(args: string[]): ChildProcess {
  return fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/**
 * The CLI runs compiled JavaScript, not tsx (whose loader alone holds ~80 MB), so downloads run from a bundle of
 * this file built with esbuild (tsx's own dependency). Falls back to tsx if esbuild is missing.
 */
let bundle: string | undefined;
async function buildBundle(dir: string): Promise<void> {
  if (process.env.BENCH_TSX) return; // measure under tsx instead (its loader adds ~60 MB of RSS)
  try {
    const esbuild = await import('esbuild');
    bundle = path.join(dir, 'bench.bundle.mjs');
    await esbuild.build({
      entryPoints: [SELF],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
  } catch (error) {
    console.log(`(esbuild unavailable, downloads run under tsx: ${(error as Error).message})`);
    bundle = undefined;
  }
}

function spawnDownloader(args: string[]): ChildProcess {
  if (!bundle) return spawnChild(args);
  return fork(bundle, args, { execArgv: process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function once<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

async function ours(url: string, connections: number): Promise<{ ms: number; cpuMs: number; maxRssMB: number; sha256: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hf-bench-'));
  try {
    const child = spawnDownloader(['--download', url, dir, String(connections)]);
    const out = await once<{ ms: number; cpuMs: number; maxRssMB: number; sha256: string }>(child);
    await new Promise((r) => child.once('exit', r));
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function curl(url: string): Promise<{ ms: number; cpuMs?: number; sha256: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hf-bench-curl-'));
  const file = path.join(dir, 'model.safetensors');
  const pipeline = `curl -s "${url}/${REPO}/resolve/main/model.safetensors" | tee "${file}" | openssl dgst -sha256`;
  // /usr/bin/time (when present) adds the pipeline's CPU time: curl, tee and openssl together.
  const timed = existsSync('/usr/bin/time');
  try {
    const started = performance.now();
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(timed ? '/usr/bin/time' : 'sh', timed ? ['-f', 'cpu %U %S', 'sh', '-c', pipeline] : ['-c', pipeline], { maxBuffer: 1 << 20 }, (err, out, errOut) =>
        err ? reject(err) : resolve({ stdout: out, stderr: errOut }),
      ),
    );
    const ms = performance.now() - started;
    if ((await stat(file)).size === 0) throw new Error('curl wrote nothing');
    const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(stderr);
    return { ms, ...(cpu ? { cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000 } : {}), sha256: stdout.trim().split(/\s+/).pop()! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const sizeMB = arg('size-mb', 1024);
  const throttledMB = arg('throttled-size-mb', 256);
  const runs = arg('runs', 3);
  const rate = arg('throttle-mbps', 25) * MB;

  const work = await mkdtemp(path.join(os.tmpdir(), 'hf-bench-bundle-'));
  await buildBundle(work);

  // 1. unthrottled, one big file
  let hub = spawnChild(['--serve', String(sizeMB * MiB)]);
  let info = await once<{ url: string; sha256: string }>(hub);
  console.log(`fake hub ${info.url}, ${sizeMB} MiB file, ${runs} runs each, interleaved`);
  const oursMs: number[] = [];
  const curlMs: number[] = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const c = await curl(info.url);
    if (c.sha256 !== info.sha256) throw new Error('curl got different bytes');
    curlMs.push(c.ms);
    const o = await ours(info.url, Number(process.env.BENCH_CONNECTIONS) || 8);
    if (o.sha256 !== info.sha256) throw new Error('ours got different bytes');
    oursMs.push(o.ms);
    peak = Math.max(peak, o.maxRssMB);
    const curlCpu = c.cpuMs === undefined ? '' : ` (cpu ${fmt(c.cpuMs)})`;
    console.log(`  run ${i + 1}: curl|tee|openssl ${fmt(c.ms)}${curlCpu}   ours ${fmt(o.ms)} (cpu ${fmt(o.cpuMs)})   ratio ${(o.ms / c.ms).toFixed(2)}   peak RSS ${o.maxRssMB.toFixed(0)} MB`);
  }
  hub.kill();
  const ratio = median(oursMs) / median(curlMs);
  const throughput = (sizeMB * MiB) / MB / (median(oursMs) / 1000);

  // 2. throttled per connection: 8 connections vs 1 (ours), and vs curl (1 connection)
  hub = spawnChild(['--serve', String(throttledMB * MiB)]);
  info = await once<{ url: string; sha256: string }>(hub);
  hub.send({ throttle: rate });
  await once(hub);
  const single = await ours(info.url, 1);
  const curlSingle = await curl(info.url);
  const multi = await ours(info.url, 8);
  peak = Math.max(peak, single.maxRssMB, multi.maxRssMB);
  hub.kill();
  const speedup = single.ms / multi.ms;

  console.log(`\nunthrottled ${sizeMB} MiB: curl|tee|openssl ${fmt(median(curlMs))}, ours ${fmt(median(oursMs))} (${throughput.toFixed(0)} MB/s)`);
  console.log(`  ratio ours / curl = ${ratio.toFixed(3)}   (target <= 1.1)`);
  console.log(`throttled ${rate / MB} MB/s per connection, ${throttledMB} MiB: 1 connection ${fmt(single.ms)}, curl ${fmt(curlSingle.ms)}, 8 connections ${fmt(multi.ms)}`);
  console.log(`  speed-up 8 vs 1 connection = ${speedup.toFixed(2)}x, vs curl = ${(curlSingle.ms / multi.ms).toFixed(2)}x   (target >= 4)`);
  console.log(`peak RSS of the downloading process: ${peak.toFixed(0)} MB   (target <= 200)${bundle ? '' : ' (under tsx)'}`);
  await rm(work, { recursive: true, force: true });
}

const mode = process.argv[2];
if (mode === '--serve') await serve(Number(process.argv[3]));
else if (mode === '--download') await download(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
