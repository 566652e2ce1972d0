/**
 * The prompt the forward pass runs on: the text through the model's own tokenizer (loaded by transformers.js
 * in the worker process, from the local folder only), or fixed ids when the folder has no tokenizer.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from '../../../src/index.js';
import type { WorkerAnswer } from './transformers-js-worker.js';

export const DEFAULT_PROMPT = 'The capital of France is';
/** Small ids every real vocabulary has; used when the folder holds no tokenizer. */
export const FALLBACK_IDS: readonly number[] = [9, 8, 7, 6, 5, 4];

export interface Prompt {
  ids: number[];
  /** The text, when the ids came from the tokenizer. */
  text?: string;
  source: 'tokenizer' | 'fixed ids';
  /** Why the fixed ids were used. */
  why?: string;
  /** The folder has a tokenizer, but transformers.js could not load it or use it. */
  failure?: string;
  /** The tokenizer gave no answer within its time limit; its process was killed (a warning, not a failure). */
  tooSlow?: string;
}

/** The prompt from the worker's answer to a 'tokenize' request (undefined: no worker), else the fixed ids. */
export async function preparePrompt(tokenizing: Promise<WorkerAnswer> | undefined, text: string, fallback: readonly number[]): Promise<Prompt> {
  const fixed = (why: string): Prompt => ({ ids: [...fallback], source: 'fixed ids', why });
  if (!tokenizing) return fixed('transformers.js is switched off');
  const answer = await tokenizing;
  if (answer.type === 'tokens') {
    if (answer.ids === null) return fixed(answer.why ?? 'no tokenizer');
    if (answer.ids.length > 0) return { ids: answer.ids, text, source: 'tokenizer' };
  }
  if (answer.type === 'error' && answer.timedOut) {
    return { ...fixed('the tokenizer took too long'), tooSlow: `the tokenizer took too long: ${answer.message}; ran on fixed ids instead` };
  }
  const failure = answer.type === 'error' ? answer.message.split('\n')[0] : 'it gave no ids';
  return { ...fixed('the tokenizer failed'), failure: `transformers.js could not tokenize the prompt: ${failure}` };
}

/**
 * The ids that end generation, resolved as transformers.js resolves them: generation_config.json over config.json.
 */
export async function eosTokenIds(modelDir: string, config: ModelConfig): Promise<number[]> {
  let generation: Record<string, unknown> = {};
  try {
    generation = JSON.parse(await readFile(path.join(modelDir, 'generation_config.json'), 'utf8'));
  } catch {
    // optional file (transformers.js treats it the same way)
  }
  const value = generation.eos_token_id ?? config.eos_token_id;
  const list = Array.isArray(value) ? value : [value];
  return list.filter((id): id is number => typeof id === 'number' && Number.isInteger(id));
}
