/**
 * `npm run bench`: every performance claim, measured side by side with its baseline in the same run, on a
 * Qwen2.5-0.5B-shaped model (494M parameters, bf16, ~988 MB) served by the fake hub on loopback.
 *
 * Each figure is the median of BENCH_RUNS runs (default 3) with the min-max spread. Stage times and per-stage
 * peak RSS come from the real CLI (child process, --json stage events, RSS of its process tree from /proc).
 * Results: a table on stdout and .bench/results.json.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub, lazyFileFromDisk } from '../test/fake-hub/index.js';
import { makeBenchModel, PARAMETERS } from './make-model.js';
import { curlPipeline, measure, stats, type Stats } from './measure.js';
import { ociBenchRun, prepareOciSource } from './oci-bench.js';
import { sha256File as sha256Of } from '../src/util/hash-file.js';
import { ctrlCDuringValidation } from './ctrl-c.js';
import { PARAMETERS_7B, REPO_7B, makeSevenBModel, sevenBRepoFiles } from './seven-b.js';
import { qwen35Only, qwen35Row, qwen35Rows } from './hybrid-qwen.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, '.bench');
const bin = path.join(root, 'bin', 'model-import.js');
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const REPO = 'bench/qwen2.5-0.5b-shaped';
const THROTTLE = 25e6;
// BENCH_ONLY=oci runs only the OCI push/pull rows (they need docker-registry and htpasswd); BENCH_ONLY=7b only
// the 7B-shaped row (bench/seven-b.ts), which BENCH_SKIP_7B=1 leaves out of a full run.
const ONLY = process.env.BENCH_ONLY;
const WITH_7B = (ONLY === undefined && process.env.BENCH_SKIP_7B !== '1') || ONLY === '7b';
// BENCH_ONLY=qwen35 runs only the Qwen3.5-shaped row (bench/hybrid-qwen.ts), which BENCH_SKIP_QWEN35=1 leaves out.
const WITH_QWEN35 = (ONLY === undefined && process.env.BENCH_SKIP_QWEN35 !== '1') || ONLY === 'qwen35';

interface ImportFigures {
  wallMs: number;
  peakRss: number;
  /** Peak of the tree's summed PSS: pages several processes map counted once (measure.ts). */
  peakPss: number;
  /** The CLI's --json result (stdout). */
  stdout: string;
  stages: Record<string, { ms: number; peakRss: number }>;
}

interface ImportRun {
  /** Keep the models folder from the previous run with this label, and leave it for the next (blob reuse). */
  reuse?: 'first' | 'again' | 'last';
  /** Another repository than the 0.5B-shaped one. */
  repo?: string;
}

async function cliImport(hubUrl: string, label: string, extra: string[], env: Record<string, string> = {}, run: ImportRun = {}): Promise<ImportFigures> {
  const modelsDir = path.join(benchDir, `models-${label}`);
  if (!run.reuse || run.reuse === 'first') await fs.rm(modelsDir, { recursive: true, force: true });
  const stages: ImportFigures['stages'] = {};
  let current: string | undefined;
  let started = 0;
  const result = await measure(
    process.execPath,
    [bin, 'import-model', run.repo ?? REPO, '--yes', '--json', '--models-dir', modelsDir, ...extra],
    {
      env: { HF_ENDPOINT: hubUrl, HF_HOME: path.join(benchDir, 'hf-home'), HF_TOKEN: undefined, ...env },
      onStderrLine: (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { type: string; stage?: string; status?: string; time: string };
        if (event.type !== 'stage' || !event.stage) return;
        const t = Date.parse(event.time);
        if (event.status === 'start') {
          current = event.stage;
          started = t;
          stages[current] = { ms: 0, peakRss: 0 };
        } else if (event.stage === current) {
          stages[current].ms = t - started;
          current = undefined;
        }
      },
      onRss: (bytes) => {
        if (current) stages[current].peakRss = Math.max(stages[current].peakRss, bytes);
      },
    },
  );
  if (!run.reuse || run.reuse === 'last') await fs.rm(modelsDir, { recursive: true, force: true });
  return { wallMs: result.wallMs, peakRss: result.peakRssBytes, peakPss: result.peakPssBytes, stdout: result.stdout, stages };
}

/**
 * The 7B-shaped import under --max-memory 4GB, once per bench (about 15 GB written by the download): served by its
 * own fake hub from the cached model folder. Lines of load average go with it (the machine is shared).
 */
async function sevenBRow(push: (key: string, value: number) => void): Promise<void> {
  process.stderr.write('Preparing the Qwen2.5-7B-shaped model (cached in .bench/; minutes the first time)...\n');
  const dir = await makeSevenBModel(path.join(benchDir, 'qwen2.5-7b-shaped'));
  const { small, shards } = await sevenBRepoFiles(dir);
  const lazyFiles = Object.fromEntries(await Promise.all(shards.map(async (name) => [name, await lazyFileFromDisk(path.join(dir, name))] as const)));
  const hub = await startFakeHub({ repos: [{ id: REPO_7B, files: small, lazyFiles, cardData: { license: 'apache-2.0' } }] });
  try {
    process.stderr.write(`7B-shaped import, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    const figures = await cliImport(hub.url, '7b', ['--max-memory', '4GB'], {}, { repo: REPO_7B });
    push('7b.import.ms', figures.wallMs);
    push('7b.import.rss', figures.peakRss);
    push('7b.validate.ms', figures.stages.validate?.ms ?? NaN);
    push('7b.validate.rss', figures.stages.validate?.peakRss ?? NaN);
    // Which checks ran at this size within the budget, and what they found (stderr and .bench/results-7b.json).
    const findings = (JSON.parse(figures.stdout) as { model: { validation: { findings: Array<{ check: string; status: string; figure?: string; message?: string }> } } })
      .model.validation.findings.map((f) => ({ check: f.check, status: f.status, figure: f.figure ?? f.message }));
    for (const f of findings) process.stderr.write(`  7B ${f.status} ${f.check}: ${f.figure ?? ''}\n`);
    await fs.writeFile(path.join(benchDir, 'results-7b.json'), JSON.stringify({ date: new Date().toISOString(), loadavg: os.loadavg(), findings, figures: { wallMs: figures.wallMs, peakRss: figures.peakRss, stages: figures.stages } }, null, 2));
    process.stderr.write(`7B-shaped import done, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  } finally {
    await hub.close();
  }
}

const MB = 1e6;
const fmtMs = (s: Stats) => `${(s.median / 1000).toFixed(2)} s [${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)}]`;
const fmtMb = (s: Stats) => `${(s.median / MB).toFixed(0)} MB [${(s.min / MB).toFixed(0)}–${(s.max / MB).toFixed(0)}]`;

async function main(): Promise<void> {
  await fs.mkdir(benchDir, { recursive: true });
  if (ONLY === 'qwen35') return qwen35Only(benchDir, cliImport, RUNS);
  process.stderr.write('Preparing the Qwen2.5-0.5B-shaped model (cached in .bench/)...\n');
  const modelDir = await makeBenchModel(path.join(benchDir, 'qwen2.5-0.5b-shaped'));
  const weightsFile = path.join(modelDir, 'model.safetensors');
  const weightsBytes = (await fs.stat(weightsFile)).size;
  const small: Record<string, Uint8Array> = {};
  for (const name of await fs.readdir(modelDir)) {
    if (name !== 'model.safetensors' && !name.startsWith('.')) small[name] = await fs.readFile(path.join(modelDir, name));
  }
  const hub = await startFakeHub({
    repos: [{ id: REPO, files: small, lazyFiles: { 'model.safetensors': await lazyFileFromDisk(weightsFile) }, cardData: { license: 'apache-2.0' } }],
  });
  const url = `${hub.url}/${REPO}/resolve/main/model.safetensors`;
  const scratch = path.join(benchDir, 'scratch.bin');
  const series: Record<string, number[]> = {};
  const push = (key: string, value: number) => (series[key] ??= []).push(value);

  /** Bytes the hub sent for the fetch stage of `import` (resolve's own reads of config.json and LICENSE left out). */
  const fetched = async (work: () => Promise<ImportFigures>) => {
    const before = hub.requests.length;
    const figures = await work();
    const bytes = hub.requests
      .slice(before)
      .filter((r) => r.path.includes('/resolve/') && !/\/(config\.json|LICENSE)$/.test(r.path))
      .reduce((sum, r) => sum + r.bytesSent, 0);
    return { figures, bytes };
  };
  // The user's Hugging Face cache holding the weights blob (a hard link of the bench file: same bytes, no copy).
  const hfCache = path.join(benchDir, 'hf-cache');
  const cachedBlob = path.join(hfCache, `models--${REPO.replace('/', '--')}`, 'blobs', await sha256Of(weightsFile));
  await fs.mkdir(path.dirname(cachedBlob), { recursive: true });
  if (!(await fs.stat(cachedBlob).catch(() => undefined))) await fs.link(weightsFile, cachedBlob).catch(() => fs.copyFile(weightsFile, cachedBlob));
  for (const bytes of Object.values(small)) {
    // Small files are cached under their git blob id, as huggingface_hub names them (the hub's ETag).
    const oid = createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
    await fs.writeFile(path.join(path.dirname(cachedBlob), oid), bytes);
  }
  const bytesOnly = process.env.BENCH_ONLY === 'bytes';

  try {
    const ociInput = { bin, benchDir, hubUrl: hub.url, repo: REPO, push };
    const ociSource = ONLY === '7b' ? undefined : await prepareOciSource(ociInput);
    for (let run = 1; run <= RUNS && ONLY !== '7b'; run++) {
      process.stderr.write(`Run ${run}/${RUNS}\n`);
      // Blob reuse: the same repo and commit under a second name, then a fresh models folder fed by the HF cache.
      hub.setThrottle(undefined);
      const firstName = await fetched(() => cliImport(hub.url, 'reuse', ['--name', 'first'], {}, { reuse: 'first' }));
      push('reuse.first.bytes', firstName.bytes);
      const secondName = await fetched(() => cliImport(hub.url, 'reuse', ['--name', 'second'], {}, { reuse: 'last' }));
      push('reuse.second.ms', secondName.figures.wallMs);
      push('reuse.second.validate.ms', secondName.figures.stages.validate?.ms ?? NaN);
      push('reuse.second.overhead.ms', secondName.figures.wallMs - (secondName.figures.stages.validate?.ms ?? NaN));
      push('reuse.second.bytes', secondName.bytes);
      const fromCache = await fetched(() => cliImport(hub.url, 'hf-cache', [], { HF_HUB_CACHE: hfCache }));
      push('hfcache.ms', fromCache.figures.wallMs);
      push('hfcache.bytes', fromCache.bytes);
      if (bytesOnly) continue;
      hub.setThrottle(undefined);
      await ociBenchRun(ociInput, ociSource!);
      if (ONLY === 'oci') continue;
      hub.setThrottle(undefined);
      const curl = await curlPipeline(url, scratch);
      push('curl.ms', curl.wallMs);
      push('curl.rss', curl.peakRssBytes);
      const full = await cliImport(hub.url, 'default', []);
      push('import.ms', full.wallMs);
      push('import.rss', full.peakRss);
      push('import.pss', full.peakPss);
      for (const [stage, figures] of Object.entries(full.stages)) {
        push(`stage.${stage}.ms`, figures.ms);
        push(`stage.${stage}.rss`, figures.peakRss);
      }
      const cp = await measure('cp', [weightsFile, scratch]);
      push('cp.ms', cp.wallMs);
      // The converter fsyncs what it writes (a registered model must be on disk, not only in the page cache);
      // cp does not. This second baseline makes the same promise.
      const cpSync = await measure('bash', ['-c', `cp "${weightsFile}" "${scratch}" && sync "${scratch}"`]);
      push('cp.sync.ms', cpSync.wallMs);
      const f32 = await cliImport(hub.url, 'f32', ['--dtype', 'f32', '--skip-validation']);
      push('convert.f32.ms', f32.stages.convert?.ms ?? NaN);
      push('convert.f32.rss', f32.stages.convert?.peakRss ?? NaN);
      // The same through the page cache, to show what direct I/O changes (src/formats/safetensors/direct-output.ts).
      const f32Buffered = await cliImport(hub.url, 'f32-buffered', ['--dtype', 'f32', '--skip-validation'], { MODEL_IMPORT_DIRECT_IO: '0' });
      push('convert.f32.buffered.ms', f32Buffered.stages.convert?.ms ?? NaN);
      // Direct I/O leaves the f32 weights out of the page cache: validation then reads them from the disk.
      const f32Full = await cliImport(hub.url, 'f32-full', ['--dtype', 'f32']);
      push('import.f32.ms', f32Full.wallMs);
      push('import.f32.validate.ms', f32Full.stages.validate?.ms ?? NaN);
      const f32FullBuffered = await cliImport(hub.url, 'f32-full-buffered', ['--dtype', 'f32'], { MODEL_IMPORT_DIRECT_IO: '0' });
      push('import.f32.buffered.ms', f32FullBuffered.wallMs);
      push('import.f32.buffered.validate.ms', f32FullBuffered.stages.validate?.ms ?? NaN);
      const budget = await cliImport(hub.url, 'budget', ['--max-memory', '512MB']);
      push('validate.budget.ms', budget.stages.validate?.ms ?? NaN);
      push('validate.budget.rss', budget.stages.validate?.peakRss ?? NaN);
      hub.setThrottle(THROTTLE);
      const slowCurl = await curlPipeline(url, scratch);
      push('curl.throttled.ms', slowCurl.wallMs);
      const slow = await cliImport(hub.url, 'throttled', ['--skip-validation']);
      push('fetch.throttled.ms', slow.stages.fetch?.ms ?? NaN);
      hub.setThrottle(undefined);
      // Ctrl-C during validation, five times a run (the target is a median of 5), at staggered moments of it.
      const hubEnv = { HF_ENDPOINT: hub.url, HF_HOME: path.join(benchDir, 'hf-home'), HF_TOKEN: undefined };
      const exits = [];
      for (let i = 0; i < 5; i++) {
        const result = await ctrlCDuringValidation(bin, REPO, hubEnv, path.join(benchDir, 'models-ctrl-c'), 500 + i * 400);
        if (result.code !== 130 || result.leftovers) throw new Error(`Ctrl-C during validation: exit ${result.code}, leftovers ${result.leftovers}`);
        exits.push(result.exitMs);
      }
      push('ctrlc.validate.ms', stats(exits).median);
      const help = [];
      for (let i = 0; i < 5; i++) help.push((await measure(process.execPath, [bin, '--help'])).wallMs);
      push('help.ms', stats(help).median);
    }
    if (WITH_7B) await sevenBRow(push);
    for (let run = 1; run <= RUNS && WITH_QWEN35; run++) await qwen35Row(benchDir, cliImport, push);
  } finally {
    await hub.close();
    await fs.rm(scratch, { force: true });
  }

  const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, stats(v)]));
  const bytesRows: [string, string, string, string, string][] = ONLY === '7b' ? [] : [
    ['re-import under another name: bytes downloaded (first import)', `${s['reuse.second.bytes'].max} bytes`, `${(s['reuse.first.bytes'].median / MB).toFixed(1)} MB`, '', '0 bytes'],
    ['re-import under another name: wall time (of which validation)', `${fmtMs(s['reuse.second.ms'])} (${fmtMs(s['reuse.second.validate.ms'])})`, '', `+${(s['reuse.second.overhead.ms'].median / 1000).toFixed(2)} s`, '≤ validation + 1 s'],
    ['import with the weights in the HF cache: bytes downloaded, wall time', `${s['hfcache.bytes'].max} bytes, ${fmtMs(s['hfcache.ms'])}`, '', '', '0 bytes'],
  ];
  if (bytesOnly) {
    const table = bytesRows.map((r) => `| ${r.join(' | ')} |`).join('\n');
    process.stdout.write(`\n${table}\n`);
    await fs.writeFile(path.join(benchDir, 'results-bytes.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, series: s, table: bytesRows }, null, 2));
    return;
  }
  const ratio = (a: string, b: string) => s[a].median / s[b].median;
  const sevenRows: [string, string, string, string, string][] = WITH_7B ? [
    [`7B-shaped (${(PARAMETERS_7B / 1e9).toFixed(2)} B parameters, bf16, 4 shards) import, --max-memory 4GB (of which validation)`, `${fmtMs(s['7b.import.ms'])} (${fmtMs(s['7b.validate.ms'])})`, '', '', ''],
    ['same: peak RSS, whole import / validation stage', `${fmtMb(s['7b.import.rss'])} / ${fmtMb(s['7b.validate.rss'])}`, '', '', 'validation ≤ 4 GB'],
  ] : [];
  const f32Written = weightsBytes * 2;
  // Only when the OCI rows ran (BENCH_ONLY=7b / qwen35 do not run them).
  const ociRows: [string, string, string, string, string][] = !s['oci.push.ms'] ? [] : [
    ['push to docker-registry (default: one streamed PATCH per blob) vs curl monolithic PUT of the same blobs', fmtMs(s['oci.push.ms']), fmtMs(s['oci.curl.put.ms']), `${ratio('oci.push.ms', 'oci.curl.put.ms').toFixed(2)} ×`, '≤ 1.3 ×'],
    ['same, --chunk-size 4MiB (GHCR-style limits, the fallback after a 413)', fmtMs(s['oci.push.4m.ms']), fmtMs(s['oci.curl.put.ms']), `${ratio('oci.push.4m.ms', 'oci.curl.put.ms').toFixed(2)} ×`, ''],
    ['pull (fetch stage, digest checked) vs curl | tee | openssl of the weights blob', fmtMs(s['oci.pull.fetch.ms']), fmtMs(s['oci.curl.get.ms']), `${ratio('oci.pull.fetch.ms', 'oci.curl.get.ms').toFixed(2)} ×`, '≤ 1.2 ×'],
    ['re-push of the unchanged model (whole command)', fmtMs(s['oci.repush.ms']), '', '', '≤ 1 s'],
    ['peak RSS: push / pull fetch stage', `${fmtMb(s['oci.push.rss'])} / ${fmtMb(s['oci.pull.fetch.rss'])}`, '', '', '≤ 200 MB'],
  ];
  const qwen35 = WITH_QWEN35 ? qwen35Rows(s) : [];
  const rows: [string, string, string, string, string][] = ONLY === 'oci' ? ociRows : ONLY === '7b' ? sevenRows : ONLY === 'qwen35' ? qwen35 : [
    ...sevenRows,
    ...qwen35,
    ...ociRows,
    ...bytesRows,
    ['download + sha256 + write (fetch stage) vs curl | tee | openssl', fmtMs(s['stage.fetch.ms']), fmtMs(s['curl.ms']), `${ratio('stage.fetch.ms', 'curl.ms').toFixed(2)} ×`, '≤ 1.1 ×'],
    [`throughput at ${THROTTLE / MB} MB/s per connection vs one connection`, fmtMs(s['fetch.throttled.ms']), fmtMs(s['curl.throttled.ms']), `${ratio('curl.throttled.ms', 'fetch.throttled.ms').toFixed(2)} × faster`, '≥ 4 ×'],
    ['conversion, dtype kept, vs cp of the weights', fmtMs(s['stage.convert.ms']), fmtMs(s['cp.ms']), `${ratio('stage.convert.ms', 'cp.ms').toFixed(3)} ×`, '≤ 0.1 ×'],
    ['conversion bf16 → f32 throughput (bytes written) vs cp', fmtMs(s['convert.f32.ms']), fmtMs(s['cp.ms']), `${((f32Written / s['convert.f32.ms'].median) / (weightsBytes / s['cp.ms'].median)).toFixed(2)} ×`, '≥ 0.5 ×'],
    ['same, vs cp + fsync (both on disk)', fmtMs(s['convert.f32.ms']), fmtMs(s['cp.sync.ms']), `${((f32Written / s['convert.f32.ms'].median) / (weightsBytes / s['cp.sync.ms'].median)).toFixed(2)} ×`, ''],
    ['same, through the page cache (MODEL_IMPORT_DIRECT_IO=0) vs cp', fmtMs(s['convert.f32.buffered.ms']), fmtMs(s['cp.ms']), `${((f32Written / s['convert.f32.buffered.ms'].median) / (weightsBytes / s['cp.ms'].median)).toFixed(2)} ×`, ''],
    ['whole import --dtype f32 with validation (of which validation)', `${fmtMs(s['import.f32.ms'])} (${fmtMs(s['import.f32.validate.ms'])})`, fmtMs(s['curl.ms']), `${ratio('import.f32.ms', 'curl.ms').toFixed(2)} ×`, ''],
    ['same, through the page cache (MODEL_IMPORT_DIRECT_IO=0)', `${fmtMs(s['import.f32.buffered.ms'])} (${fmtMs(s['import.f32.buffered.validate.ms'])})`, fmtMs(s['curl.ms']), `${ratio('import.f32.buffered.ms', 'curl.ms').toFixed(2)} ×`, ''],
    ['validation (default mode)', fmtMs(s['stage.validate.ms']), '', '', '≤ 5 s'],
    ['validation peak RSS (default mode)', fmtMb(s['stage.validate.rss']), '', '', '≤ 2.0 GB'],
    ['same, whole import, shared pages counted once (peak summed PSS)', fmtMb(s['import.pss']), '', '', ''],
    ['validation peak RSS, --max-memory 512MB', fmtMb(s['validate.budget.rss']), '', '', '≤ 600 MB'],
    ['whole import vs curl | tee | openssl', fmtMs(s['import.ms']), fmtMs(s['curl.ms']), `${ratio('import.ms', 'curl.ms').toFixed(2)} ×`, ''],
    ['Ctrl-C during validation to exit (median of 5 per run)', fmtMs(s['ctrlc.validate.ms']), '', '', '≤ 1 s'],
    ['model-import --help start-up', `${s['help.ms'].median.toFixed(0)} ms`, '', '', '≤ 300 ms'],
    ['peak RSS: fetch / convert / whole import', `${fmtMb(s['stage.fetch.rss'])} / ${fmtMb(s['stage.convert.rss'])} / ${fmtMb(s['import.rss'])}`, '', '', 'fetch ≤ 200 MB, convert ≤ 300 MB'],
    ['peak RSS: convert bf16 → f32', fmtMb(s['convert.f32.rss']), '', '', '≤ 300 MB'],
  ];
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const header = ['measure', 'ours (median [min–max])', 'baseline', 'ratio', 'target'];
  // A Markdown table (pasted into the README as it is): a "|" inside a cell is escaped.
  const cells = rows.map((r) => r.map((c) => c.replace(/\|/g, '\\|')));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const table = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
  process.stdout.write(`\nModel: ${PARAMETERS.toLocaleString('en-US')} parameters, ${(weightsBytes / MB).toFixed(0)} MB bf16; ${RUNS} runs; ${machine}\n\n${table}\n`);
  await fs.writeFile(
    path.join(benchDir, 'results.json'),
    JSON.stringify({ date: new Date().toISOString(), machine, runs: RUNS, parameters: PARAMETERS, weightsBytes, series: s, table: rows }, null, 2),
  );
  process.stdout.write(`\nFigures written to .bench/results.json\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
