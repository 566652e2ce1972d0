import { describe, expect, it } from 'vitest';
import { parseRepoArgument } from './repo-argument.js';

describe('parseRepoArgument', () => {
  it('takes a pasted model page, tree page or trailing slash as the repo id', () => {
    expect(parseRepoArgument('https://huggingface.co/Qwen/Qwen2.5-0.5B')).toEqual({ spec: 'Qwen/Qwen2.5-0.5B' });
    expect(parseRepoArgument('https://huggingface.co/Qwen/Qwen2.5-0.5B/')).toEqual({ spec: 'Qwen/Qwen2.5-0.5B' });
    expect(parseRepoArgument('https://huggingface.co/Qwen/Qwen2.5-0.5B/tree/main')).toEqual({ spec: 'Qwen/Qwen2.5-0.5B', revision: 'main' });
    expect(parseRepoArgument('https://hf.co/Qwen/Qwen2.5-0.5B/tree/060db6499f32faf8b98477b0a26969ef7d8b9987')).toEqual({
      spec: 'Qwen/Qwen2.5-0.5B',
      revision: '060db6499f32faf8b98477b0a26969ef7d8b9987',
    });
    expect(parseRepoArgument('https://huggingface.co/Qwen/Qwen2.5-0.5B/blob/v1/config.json')).toEqual({ spec: 'Qwen/Qwen2.5-0.5B', revision: 'v1' });
    expect(parseRepoArgument('Qwen/Qwen2.5-0.5B/')).toEqual({ spec: 'Qwen/Qwen2.5-0.5B' });
    expect(parseRepoArgument('Qwen/Qwen2.5-0.5B', { revision: 'dev' })).toEqual({ spec: 'Qwen/Qwen2.5-0.5B', revision: 'dev' });
  });

  it('knows the configured HF_ENDPOINT, with or without a path prefix', () => {
    const endpoints = ['http://127.0.0.1:4321', 'https://mirror.example/hf/'];
    expect(parseRepoArgument('http://127.0.0.1:4321/org/model/tree/main', { endpoints })).toEqual({ spec: 'org/model', revision: 'main' });
    expect(parseRepoArgument('https://mirror.example/hf/org/model', { endpoints })).toEqual({ spec: 'org/model' });
  });

  it('leaves other schemes and hosts alone, and refuses datasets and conflicting revisions', () => {
    expect(parseRepoArgument('local:/models/x/')).toEqual({ spec: 'local:/models/x/' });
    expect(parseRepoArgument('https://example.com/org/model')).toEqual({ spec: 'https://example.com/org/model' });
    expect(() => parseRepoArgument('https://huggingface.co/datasets/org/data')).toThrow(/dataset, not a model/);
    expect(() => parseRepoArgument('https://huggingface.co/org/model/tree/main', { revision: 'dev' })).toThrow(/revision "main" but --revision says "dev"/);
    expect(() => parseRepoArgument('https://huggingface.co/org')).toThrow(/names no model/);
  });
});
