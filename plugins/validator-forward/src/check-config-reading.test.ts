/**
 * The known misreadings, each seeded into the converter's side (the decoder kit's reader, as a buggy reader would
 * return it), fail validation naming the field; the honest reading of the same configs passes. The tensor-name
 * check runs on a real converted folder.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationReport, type ModelConfig } from '../../../src/index.js';
import { configFacts } from '../../decoder-kit/src/config/config-facts.js';
import { readDecoderConfig, type DecoderConfigReading } from '../../decoder-kit/src/config/read-decoder-config.js';
import { makeSubject, testClaim } from '../test-support/subject.js';
import { makeTinyModelDir, qwenClaim } from '../test-support/tiny-model.js';
import { checkConfigReading } from './check-config-reading.js';

const QWEN3_MOE: ModelConfig = {
  architectures: ['Qwen3MoeForCausalLM'], model_type: 'qwen3_moe', hidden_size: 64, intermediate_size: 96,
  moe_intermediate_size: 32, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 3,
  num_experts: 4, num_experts_per_tok: 2, vocab_size: 320, max_position_embeddings: 4096,
};
const QWEN3_YARN: ModelConfig = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 64, intermediate_size: 96,
  num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 320, tie_word_embeddings: true,
  max_position_embeddings: 131072, rope_theta: 1000000,
  rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 },
};
const LLAMA31: ModelConfig = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 96,
  num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 320, rope_theta: 500000,
  max_position_embeddings: 131072,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
};

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function findings(config: ModelConfig, seed: (r: DecoderConfigReading) => DecoderConfigReading = (r) => r) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'config-reading-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  const claim = testClaim({ tolerance: 1e-4, onnxGraph: 'onnx/model.onnx', maxReferenceParameters: 0, configFacts: configFacts(seed(readDecoderConfig(config))) });
  const report = new ValidationReport();
  await checkConfigReading(await makeSubject(dir, { claim }), report);
  return report.findings.filter((f) => f.check === 'config reading');
}

describe('checkConfigReading: the converter reading against the validator reading', () => {
  it.each([['Qwen3-MoE, defaults left to transformers', QWEN3_MOE], ['Qwen3 with YaRN and a tied head', QWEN3_YARN], ['Llama 3.1 RoPE (llama3)', LLAMA31]])('%s: agree', async (_what, config) => {
    const found = await findings(config);
    expect(found.map((f) => f.status)).toEqual(['pass']);
  });

  const seeded: [string, ModelConfig, (r: DecoderConfigReading) => DecoderConfigReading, string][] = [
    ['norm_topk_prob taken as true for Qwen3-MoE', QWEN3_MOE, (r) => ({ ...r, moe: { ...r.moe!, normTopkProb: true } }), 'norm_topk_prob'],
    ['head_dim 128 (the Qwen3 default) for Qwen3-MoE', QWEN3_MOE, (r) => ({ ...r, headDim: 128, rope: { ...r.rope, rotaryDim: 128 } }), 'head_dim'],
    ['head_dim hidden/heads for Qwen3', QWEN3_YARN, (r) => ({ ...r, headDim: 16, rope: { ...r.rope, rotaryDim: 16 } }), 'head_dim'],
    ['partial rotary where the whole head rotates', QWEN3_YARN, (r) => ({ ...r, rope: { ...r.rope, rotaryDim: 64 } }), 'rotary_dim'],
    ['tied head read as untied', QWEN3_YARN, (r) => ({ ...r, tied: false }), 'tie_word_embeddings'],
    ['rope scaling ignored', QWEN3_YARN, (r) => ({ ...r, rope: { ...r.rope, type: 'default', factor: 1, attentionScaling: 1 } }), 'rope_inv_freq'],
    ['llama3 RoPE read as default', LLAMA31, (r) => ({ ...r, rope: { ...r.rope, type: 'default', factor: 1 } }), 'rope_inv_freq'],
    ['YaRN without its attention scaling', QWEN3_YARN, (r) => ({ ...r, rope: { ...r.rope, attentionScaling: 1 } }), 'rope_attention_scaling'],
    ['every layer sparse despite decoder_sparse_step 2', { ...QWEN3_MOE, decoder_sparse_step: 2 }, (r) => ({ ...r, moe: { ...r.moe!, decoderSparseStep: 1 } }), 'sparse_layers'],
  ];
  it.each(seeded)('%s: fails naming the field', async (_what, config, seed, field) => {
    const found = await findings(config, seed);
    const failed = found.filter((f) => f.status === 'fail');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map((f) => f.message).join('\n')).toContain(`${field}:`);
  });

  it('an adapter that states no reading is a warning, not a pass', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'config-reading-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(QWEN3_MOE));
    const report = new ValidationReport();
    await checkConfigReading(await makeSubject(dir, { claim: testClaim({ tolerance: 1e-4, onnxGraph: 'x', maxReferenceParameters: 0 }) }), report);
    expect(report.findings.find((f) => f.check === 'config reading')?.status).toBe('warn');
  });
});

describe('checkConfigReading: tensor names and shapes as transformers would load them', () => {
  it('a real converted folder passes; the same folder under a config whose head_dim disagrees fails', async () => {
    const { dir, config } = await makeTinyModelDir({ seed: 5 });
    dirs.push(dir);
    const ok = new ValidationReport();
    await checkConfigReading(await makeSubject(dir, { claim: qwenClaim(config) }), ok);
    expect(ok.findings.find((f) => f.check === 'tensor names')?.status).toBe('pass');

    const raw = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...raw, head_dim: 2 * Number(raw.hidden_size) / Number(raw.num_attention_heads) }));
    const bad = new ValidationReport();
    await checkConfigReading(await makeSubject(dir, { claim: qwenClaim(config) }), bad);
    const finding = bad.findings.find((f) => f.check === 'tensor names');
    expect(finding?.status).toBe('fail');
    expect(finding?.message).toContain('q_proj.weight');
  });
});
