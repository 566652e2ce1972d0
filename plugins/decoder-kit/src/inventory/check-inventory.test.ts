import { describe, expect, it } from 'vitest';
import { isModelImportError, type ModelConfig } from '../../../../src/index.js';
import { familyFor } from '../../../arch-qwen/index.js';
import { checkInventory, type CheckpointTensor } from './check-inventory.js';
import { countParameters } from '../describe/count-parameters.js';
import { qwen25_05b, qwen2MoeTiny, qwen3_06b, qwen3MoeTiny } from '../../../arch-qwen/test/configs.js';

/** The tensors a correct checkpoint for this config holds, in the given layout for MoE experts. */
function checkpoint(config: ModelConfig, { layout = 0, lmHead = !config.tie_word_embeddings, dtype = 'BF16' } = {}) {
  const family = familyFor(config.architectures![0])!;
  const { dims } = family.readDims(config);
  const tensors: CheckpointTensor[] = [];
  for (const group of family.tensorGroups(dims)) {
    for (const spec of group.layouts[Math.min(layout, group.layouts.length - 1)]) tensors.push({ name: spec.name, dtype, shape: spec.shape });
  }
  if (lmHead) tensors.push({ name: 'lm_head.weight', dtype, shape: [dims.vocab, dims.hidden] });
  return { family, dims, tensors };
}

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isModelImportError(error) && error.code === 'CONVERSION_FAILED') {
      expect(error.message).not.toContain('\n');
      return error.message;
    }
    throw error;
  }
  throw new Error('expected CONVERSION_FAILED');
}

describe('checkInventory', () => {
  it('accepts Qwen2.5-0.5B (290 tensors, tied, no lm_head) and counts 494,032,768 parameters', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    expect(tensors).toHaveLength(290);
    const inv = checkInventory(family, dims, tensors);
    expect(inv).toMatchObject({ tiedCopy: false, dtype: 'BF16', warnings: [], extras: [] });
    expect(countParameters(tensors.filter((t) => inv.keep.includes(t.name)))).toBe(494_032_768);
  });

  it('flags a tied lm_head copy for byte comparison and keeps it out of the count (Qwen3-0.6B, 311 tensors)', () => {
    const { family, dims, tensors } = checkpoint(qwen3_06b(), { lmHead: true });
    expect(tensors).toHaveLength(311);
    const inv = checkInventory(family, dims, tensors);
    expect(inv.tiedCopy).toBe(true);
    expect(inv.keep).not.toContain('lm_head.weight');
    expect(countParameters(tensors.filter((t) => inv.keep.includes(t.name)))).toBe(596_049_920);
  });

  it('fails loudly when untied and lm_head is missing', () => {
    const config = qwen25_05b();
    config.tie_word_embeddings = false;
    const { family, dims, tensors } = checkpoint(config, { lmHead: false });
    expect(failure(() => checkInventory(family, dims, tensors))).toMatch(/missing tensor lm_head.weight \(expected shape \[151936, 896\]; the config says tie_word_embeddings false/);
  });

  it('names a missing tensor', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    const without = tensors.filter((t) => t.name !== 'model.layers.7.self_attn.k_proj.bias');
    expect(failure(() => checkInventory(family, dims, without))).toMatch(/missing tensor model.layers.7.self_attn.k_proj.bias \(expected shape \[128\]\)/);
  });

  it('names a wrong shape with expected vs actual', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    const bad = tensors.map((t) => (t.name === 'model.layers.3.mlp.up_proj.weight' ? { ...t, shape: [896, 4864] } : t));
    expect(failure(() => checkInventory(family, dims, bad))).toBe(
      'Qwen2ForCausalLM checkpoint does not match config.json: tensor model.layers.3.mlp.up_proj.weight has shape [896, 4864], expected [4864, 896]',
    );
  });

  it('refuses an unexplained tensor and counts further problems', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    const bad = [...tensors, { name: 'model.layers.0.self_attn.o_proj.bias', dtype: 'BF16', shape: [896] }];
    bad.splice(0, 1);
    expect(failure(() => checkInventory(family, dims, bad))).toMatch(/missing tensor model.embed_tokens.weight .*\(and 1 more problem\)$/);
    const extra = [...tensors, { name: 'model.layers.0.self_attn.o_proj.bias', dtype: 'BF16', shape: [896] }];
    expect(failure(() => checkInventory(family, dims, extra))).toMatch(/unexpected tensor model.layers.0.self_attn.o_proj.bias \(BF16 \[896\]\)/);
  });

  it('refuses quantized tensors', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    const bad = tensors.map((t) => (t.name === 'model.layers.0.mlp.down_proj.weight' ? { ...t, dtype: 'I8' } : t));
    expect(failure(() => checkInventory(family, dims, bad))).toMatch(/down_proj.weight is I8, expected BF16, F16 or F32/);
  });

  it('warns about known buffers and mixed dtypes', () => {
    const { family, dims, tensors } = checkpoint(qwen25_05b());
    const withBuffers = [
      ...tensors.map((t) => (t.name.endsWith('layernorm.weight') ? { ...t, dtype: 'F32' } : t)),
      { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [32] },
    ];
    const inv = checkInventory(family, dims, withBuffers);
    expect(inv.extras).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
    expect(inv.dtype).toBe('BF16');
    expect(inv.dtypes).toEqual(['BF16', 'F32']);
    expect(inv.warnings.join('\n')).toMatch(/known buffer/);
    expect(inv.warnings.join('\n')).toMatch(/mixes dtypes \(242 BF16, 48 F32 tensors\)/);
  });

  it('accepts both MoE expert layouts and refuses a mix', () => {
    for (const config of [qwen2MoeTiny(), qwen3MoeTiny()]) {
      const perExpert = checkpoint(config, { layout: 0 });
      const fused = checkpoint(config, { layout: 1 });
      const a = checkInventory(perExpert.family, perExpert.dims, perExpert.tensors);
      const b = checkInventory(fused.family, fused.dims, fused.tensors);
      expect(a.keep).toContain('model.layers.1.mlp.experts.3.down_proj.weight');
      expect(b.keep).toContain('model.layers.1.mlp.experts.gate_up_proj');
      expect(countParameters(perExpert.tensors)).toBe(countParameters(fused.tensors));
      const mixed = [...perExpert.tensors, fused.tensors.find((t) => t.name === 'model.layers.0.mlp.experts.down_proj')!];
      expect(failure(() => checkInventory(perExpert.family, perExpert.dims, mixed))).toMatch(/layer 0 experts mix layouts/);
    }
  });

  it('expects the shared expert only for qwen2_moe and dense MLPs on mlp_only_layers', () => {
    const q2 = checkpoint(qwen2MoeTiny());
    expect(q2.tensors.map((t) => t.name)).toContain('model.layers.0.mlp.shared_expert_gate.weight');
    const q3 = checkpoint(qwen3MoeTiny());
    expect(q3.tensors.some((t) => t.name.includes('shared_expert'))).toBe(false);
    const config = qwen3MoeTiny();
    config.mlp_only_layers = [0];
    const dense = checkpoint(config);
    expect(dense.tensors.map((t) => t.name)).toContain('model.layers.0.mlp.gate_proj.weight');
    expect(dense.tensors.map((t) => t.name)).toContain('model.layers.1.mlp.gate.weight');
  });
});
