/**
 * Child process that loads the model folder the way a user would: `@huggingface/transformers` with default
 * options (fp32, cpu) and no network. It lives in its own process so its copy of the graph never adds to the
 * validator's memory, and so its 0.5 s import overlaps the validator's own onnxruntime work:
 *
 *   parent -> {type:'tokenize', modelDir, prompt}         child -> {type:'tokens', ids | null, why?}
 *   parent -> {type:'load', modelDir}                     child -> {type:'loaded', loadMs}
 *   parent -> {type:'generate', inputIds, maxNewTokens}   child -> {type:'generated', tokens, generateMs}
 *   child  -> {type:'error', message}                     (the parent turns it into a finding)
 *
 * 'load' only opens the session (onnxruntime maps the weights lazily), so the parent sends it early and lets
 * it overlap its own onnxruntime work; 'generate' comes after the parent released its session, so the two
 * processes never hold the touched weights at the same time.
 *
 * The child reports its own peak RSS with every answer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { peakRssBytes } from './peak-memory.js';
import { watchParent } from './parent-watchdog.js';

export type WorkerRequest =
  | { type: 'tokenize'; modelDir: string; prompt: string }
  | { type: 'load'; modelDir: string }
  | { type: 'generate'; inputIds: number[]; maxNewTokens: number }
  | { type: 'exit' };

export type WorkerAnswer =
  | { type: 'tokens'; ids: number[] | null; why?: string; peakRssBytes: number; importMs: number }
  | { type: 'loaded'; loadMs: number; peakRssBytes: number }
  | { type: 'generated'; tokens: number[]; generateMs: number; peakRssBytes: number }
  | { type: 'error'; message: string; peakRssBytes: number; /** Set by the parent: no answer in time, child killed. */ timedOut?: true };

type Transformers = typeof import('@huggingface/transformers');

function send(answer: WorkerAnswer): void {
  process.send?.(answer);
}

let library: Transformers | undefined;
let model: Awaited<ReturnType<Transformers['AutoModelForCausalLM']['from_pretrained']>> | undefined;
let modelDir = '';
let importMs = 0;

async function load(): Promise<Transformers> {
  if (!library) {
    const started = performance.now();
    library = await import('@huggingface/transformers');
    importMs = performance.now() - started;
    // No network, ever: a missing local file must fail, not fall back to the Hub.
    library.env.allowRemoteModels = false;
    library.env.allowLocalModels = true;
  }
  return library;
}

async function tokenize(request: Extract<WorkerRequest, { type: 'tokenize' }>): Promise<void> {
  modelDir = path.resolve(request.modelDir);
  const { AutoTokenizer } = await load();
  // transformers.js loads a tokenizer only when tokenizer_config.json exists (reference/qwen-family.md §7.5).
  const missing = ['tokenizer.json', 'tokenizer_config.json'].filter((f) => !existsSync(path.join(modelDir, f)));
  if (missing.length > 0) {
    send({ type: 'tokens', ids: null, why: `no ${missing.join(' / ')}`, peakRssBytes: peakRssBytes(), importMs });
    return;
  }
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  const ids = tokenizer.encode(request.prompt);
  send({ type: 'tokens', ids, peakRssBytes: peakRssBytes(), importMs });
}

async function loadModel(request: Extract<WorkerRequest, { type: 'load' }>): Promise<void> {
  // Given again here: a fresh process (after a tokenizer that was stopped) never saw the 'tokenize' request.
  modelDir = path.resolve(request.modelDir);
  const { AutoModelForCausalLM } = await load();
  const started = performance.now();
  // Default options on purpose: this is what a user's from_pretrained(absolutePath) does.
  model = await AutoModelForCausalLM.from_pretrained(modelDir);
  send({ type: 'loaded', loadMs: performance.now() - started, peakRssBytes: peakRssBytes() });
}

async function generate(request: Extract<WorkerRequest, { type: 'generate' }>): Promise<void> {
  const { Tensor } = await load();
  if (!model) throw new Error('generate before load');
  const n = request.inputIds.length;
  const inputIds = new Tensor('int64', BigInt64Array.from(request.inputIds, (id) => BigInt(id)), [1, n]);
  const attentionMask = new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
  const started = performance.now();
  // Greedy, with nothing that bends the argmax (generation_config.json may ask for sampling or penalties).
  const output = (await model.generate({
    input_ids: inputIds,
    attention_mask: attentionMask,
    max_new_tokens: request.maxNewTokens,
    do_sample: false,
    num_beams: 1,
    repetition_penalty: 1.0,
    no_repeat_ngram_size: 0,
  } as Parameters<typeof model.generate>[0])) as InstanceType<Transformers['Tensor']>;
  const generateMs = performance.now() - started;
  const all = (output.tolist() as bigint[][])[0].map(Number);
  send({ type: 'generated', tokens: all.slice(n), generateMs, peakRssBytes: peakRssBytes() });
}

// The parent died or closed the channel: nothing is left to answer to.
process.on('disconnect', () => process.exit(0));
// ...and when the parent was SIGKILLed while this process's main thread is busy (no 'disconnect' then).
watchParent();

process.on('message', (request: WorkerRequest) => {
  const work =
    request.type === 'tokenize' ? tokenize(request) : request.type === 'load' ? loadModel(request) : request.type === 'generate' ? generate(request) : undefined;
  if (!work) process.exit(0); // onnxruntime's threads would otherwise keep the process alive
  work.catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error), peakRssBytes: peakRssBytes() });
  });
});
