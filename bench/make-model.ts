/**
 * A Qwen2.5-0.5B-shaped model for the benchmarks: the real config shapes (494,032,768 parameters, bf16, tied
 * embeddings, 290 tensors, about 988 MB), seeded pseudo-random weights of realistic magnitude, streamed to disk
 * (never the whole model in memory), plus the tiny test tokenizer. Cached in .bench/ between runs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../src/formats/safetensors/index.js';
import { makeTinyModel } from '../test/fixtures/tiny-models.js';

export const QWEN25_05B_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_sliding_window: false,
  sliding_window: 32768,
  max_window_layers: 24,
  bos_token_id: 151643,
  eos_token_id: 151643,
  attention_dropout: 0.0,
  initializer_range: 0.02,
  use_cache: true,
  use_mrope: false,
  transformers_version: '4.40.1',
};

function inventory(): { name: string; shape: number[]; norm: boolean }[] {
  const c = QWEN25_05B_CONFIG;
  const H = c.hidden_size;
  const D = H / c.num_attention_heads;
  const kv = c.num_key_value_heads * D;
  const list = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, H], norm: false }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    list.push(
      { name: `${p}.input_layernorm.weight`, shape: [H], norm: true },
      { name: `${p}.self_attn.q_proj.weight`, shape: [H, H], norm: false },
      { name: `${p}.self_attn.q_proj.bias`, shape: [H], norm: false },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, H], norm: false },
      { name: `${p}.self_attn.k_proj.bias`, shape: [kv], norm: false },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, H], norm: false },
      { name: `${p}.self_attn.v_proj.bias`, shape: [kv], norm: false },
      { name: `${p}.self_attn.o_proj.weight`, shape: [H, H], norm: false },
      { name: `${p}.post_attention_layernorm.weight`, shape: [H], norm: true },
      { name: `${p}.mlp.gate_proj.weight`, shape: [c.intermediate_size, H], norm: false },
      { name: `${p}.mlp.up_proj.weight`, shape: [c.intermediate_size, H], norm: false },
      { name: `${p}.mlp.down_proj.weight`, shape: [H, c.intermediate_size], norm: false },
    );
  }
  list.push({ name: 'model.norm.weight', shape: [H], norm: true });
  return list;
}

/** bf16 values: weights of magnitude 2^-8..2^-5 with random sign, norm weights 1 + small noise. */
function* bf16Chunks(elements: number, seed: number, norm: boolean): Generator<Uint8Array> {
  let x = seed >>> 0 || 1;
  const chunkElements = 1 << 21;
  for (let done = 0; done < elements; done += chunkElements) {
    const n = Math.min(chunkElements, elements - done);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const r = x >>> 0;
      out[i] = norm ? (127 << 7) | (r & 0x0f) : ((r & 1) << 15) | ((119 + ((r >>> 1) & 3)) << 7) | ((r >>> 3) & 0x7f);
    }
    yield new Uint8Array(out.buffer);
  }
}

export const PARAMETERS = inventory().reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);

/** Writes the model folder (once; reused when complete) and returns its path. */
export async function makeBenchModel(dir: string): Promise<string> {
  const done = path.join(dir, '.complete');
  if (await fs.stat(done).catch(() => undefined)) return dir;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const tiny = makeTinyModel({ family: 'qwen2', seed: 1 });
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'LICENSE']) {
    if (tiny[name]) await fs.writeFile(path.join(dir, name), tiny[name]);
  }
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(QWEN25_05B_CONFIG, null, 2));
  await fs.writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: 151643, max_new_tokens: 2048 }, null, 2));
  const tensors: TensorToWrite[] = inventory().map((t, k) => ({
    name: t.name,
    dtype: 'BF16',
    shape: t.shape,
    data: () => bf16Chunks(t.shape.reduce((a, b) => a * b, 1), 0x9e3779b9 ^ (k * 2654435761), t.norm),
  }));
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(done, new Date().toISOString());
  return dir;
}
