/**
 * Test harness: the plugin applied to real hooks, a real fake hub on loopback, temp folders, and an env object
 * of our own (HF_HOME in the temp folder, so the real ~/.cache is never read).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createHooks,
  NonInteractivePrompter,
  Reporter,
  type ArchitectureClaim,
  type FetchContext,
  type ImportOptions,
  type ImportPlan,
  type ImportRequest,
  type KernelHooks,
  type Prompter,
  type ReporterEvent,
  type SourcePlan,
  type StageContext,
} from '../../../src/index.js';
import { pseudoRandomBytes, startFakeHub, type FakeHub, type FakeRepo, type RepoFiles, type StartOptions } from '../../../test/fake-hub/index.js';
import { sourceHuggingface, type SourceHuggingfaceOptions } from '../index.js';

export const GRANTED = 'hf_granted_token_123456';
export const DENIED = 'hf_denied_token_123456';
export const OTHER = 'hf_other_token_abcdef12';

const text = (s: string) => new TextEncoder().encode(s);

/** Deterministic bytes (xorshift32): the fake hub's own generator. */
export const bytes = pseudoRandomBytes;

export const QWEN2_CONFIG = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, num_hidden_layers: 2 };

/** A small transformers-style repo, with the extras a real one has (README image, onnx/, gguf, original/). */
export function tinyRepoFiles(seed = 1, weightBytes = 300_000): RepoFiles {
  return {
    'config.json': text(JSON.stringify(QWEN2_CONFIG)),
    'generation_config.json': text(JSON.stringify({ do_sample: false })),
    'tokenizer.json': text(JSON.stringify({ model: { vocab: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`t${i}`, i])) } })),
    'tokenizer_config.json': text('{"eos_token":"<|endoftext|>"}'),
    'vocab.json': text('{"a":0}'),
    'merges.txt': text('#version: 0.2\na b\n'),
    LICENSE: text(Array.from({ length: 40 }, (_, i) => `License line ${i + 1}\x1b[31m`).join('\n')),
    'README.md': text('---\nlicense: apache-2.0\n---\n# tiny\n'),
    'banner.png': bytes(5_000, seed + 9),
    'model.safetensors': bytes(weightBytes, seed),
    'onnx/model.onnx': bytes(20_000, seed + 1),
    'model.gguf': bytes(20_000, seed + 2),
    'original/consolidated.00.pth': bytes(20_000, seed + 3),
    'flax_model.msgpack': bytes(10_000, seed + 4),
    '.gitattributes': text('*.safetensors filter=lfs\n'),
  };
}

export function tinyRepo(id = 'tiny-org/qwen2-tiny', extra: Partial<FakeRepo> = {}): FakeRepo {
  return { id, files: tinyRepoFiles(), cardData: { license: 'apache-2.0' }, ...extra };
}

export type ContextOverrides = Partial<Omit<StageContext, 'options'>> & { options?: Partial<ImportOptions> };

export interface Harness {
  hub: FakeHub;
  root: string;
  env: Record<string, string | undefined>;
  hooks: KernelHooks;
  reporter: Reporter;
  events: ReporterEvent[];
  context(overrides?: ContextOverrides): StageContext;
  fetchContext(overrides?: Partial<FetchContext>): FetchContext;
  rawDir: string;
  partialDir: string;
  close(): Promise<void>;
}

export async function startHarness(
  repos: FakeRepo[],
  pluginOptions: SourceHuggingfaceOptions = {},
  hubOptions: Omit<StartOptions, 'repos'> = {},
): Promise<Harness> {
  const hub = await startFakeHub({ repos, ...hubOptions });
  const root = await mkdtemp(path.join(os.tmpdir(), 'source-hf-'));
  const env: Record<string, string | undefined> = { HF_HOME: path.join(root, 'hf-home'), HF_ENDPOINT: hub.url };
  const hooks = createHooks();
  sourceHuggingface({ retryBaseDelayMs: 20, retryMaxDelayMs: 200, ...pluginOptions }).apply({ hooks });
  const reporter = new Reporter();
  const events: ReporterEvent[] = [];
  reporter.subscribe((e) => events.push(e));
  const rawDir = path.join(root, 'staging', 'raw');
  const partialDir = path.join(root, 'partial');
  const context = (overrides: ContextOverrides = {}): StageContext => ({
    reporter,
    prompter: new NonInteractivePrompter(),
    signal: new AbortController().signal,
    env,
    settings: {},
    ...overrides,
    options: importOptions(root, overrides.options),
  });
  return {
    hub,
    root,
    env,
    hooks,
    reporter,
    events,
    rawDir,
    partialDir,
    context,
    fetchContext: (overrides = {}) => ({ ...context(), rawDir, partialDir, ...overrides }),
    close: async () => {
      await hub.close();
      try {
        await expectNoTokenLeft(root, hub, events);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

export function importOptions(root: string, overrides: Partial<ImportOptions> = {}): ImportOptions {
  return { modelsDir: path.join(root, 'models'), yes: true, acceptLicense: true, skipValidation: true, ...overrides };
}

export function request(spec: string, options: Partial<ImportOptions> = {}): ImportRequest {
  return { spec, options: importOptions(os.tmpdir(), options) };
}

const CLAIM: ArchitectureClaim = {
  adapter: 'test',
  architecture: 'Qwen2ForCausalLM',
  architectureType: 'qwen2',
  family: 'qwen',
  warnings: [],
  conversionScratchBytes: () => 0,
};

/** What the kernel does between resolve and authorize: spread the plan and add its decisions. */
export function toImportPlan(plan: SourcePlan): ImportPlan {
  return { ...plan, claim: CLAIM, modelName: 'tiny' };
}

export async function resolveAndAuthorize(h: Harness, spec: string, ctx: StageContext = h.context()): Promise<ImportPlan> {
  const source = await h.hooks.resolve.promise({ spec, options: ctx.options }, ctx);
  if (!source) throw new Error(`nobody resolved ${spec}`);
  const plan = toImportPlan(source);
  await h.hooks.authorize.promise(plan, ctx);
  return plan;
}

export async function listFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Folders under the harness root where a test may put tokens on purpose (token files). */
export const SECRET_DIRS = ['hf-home', 'secrets'];

/**
 * Run by close() after every test: no file outside SECRET_DIRS holds any token that reached the hub (or anything
 * shaped like one), and no reporter event does either.
 */
async function expectNoTokenLeft(root: string, hub: FakeHub, events: ReporterEvent[]): Promise<void> {
  const sent = new Set(hub.requests.map((r) => r.authorization?.replace(/^Bearer\s+/i, '')).filter((t): t is string => !!t));
  const leaks = (text: string) => [...sent].some((t) => text.includes(t)) || /hf_[A-Za-z0-9_]{6,}/.test(text);
  for (const file of await listFilesUnder(root)) {
    if (SECRET_DIRS.some((d) => file.startsWith(path.join(root, d) + path.sep))) continue;
    if (leaks((await readFile(file)).toString('latin1'))) throw new Error(`a token was written to ${file}`);
  }
  for (const e of events) if (leaks(JSON.stringify(e))) throw new Error(`a token is in a reporter event (${e.type})`);
}

/** No file under root contains the token, and the token only ever went to the hub's own origin. */
export async function expectTokenNowhere(h: Harness, token: string): Promise<void> {
  for (const file of await listFilesUnder(h.root)) {
    const content = await readFile(file);
    if (content.includes(token)) throw new Error(`token found in ${file}`);
  }
  for (const e of h.events) if (JSON.stringify(e).includes(token)) throw new Error(`token found in a reporter event ${e.type}`);
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Requests for weight content (by path), e.g. to prove none happened before fetch. */
export function weightRequests(hub: FakeHub): string[] {
  return hub.requests.filter((r) => /\.(safetensors|bin|gguf|onnx|pth|msgpack)$/.test(r.path) && r.path.includes('/resolve/')).map((r) => r.path);
}

/** A prompter with a terminal: answers secrets from a list and records the questions. */
export class ScriptedPrompter implements Prompter {
  readonly interactive = true;
  readonly asked: { message: string; flag: string }[] = [];
  constructor(private readonly secrets: string[]) {}
  async confirm(): Promise<boolean> {
    return true;
  }
  async secret(question: { message: string; flag: string }): Promise<string> {
    this.asked.push(question);
    const next = this.secrets.shift();
    if (next === undefined) throw new Error('no scripted secret left');
    return next;
  }
  async choose<T extends string>(): Promise<T> {
    throw new Error('not scripted');
  }
  async text(): Promise<string> {
    throw new Error('not scripted');
  }
}
