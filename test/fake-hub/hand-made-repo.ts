/**
 * Small hand-built repos for the fake hub's own tests: every kind of entry the hub treats differently (plain file,
 * LFS by extension, LFS by size, large tokenizer.json, empty file, nested directories), independent of the fixtures.
 */
import type { FakeRepo, RepoFiles } from './types.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Deterministic bytes (xorshift32), so content differs between files and seeds. */
export function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A valid safetensors file with F32 tensors of the given shapes (data is pseudo-random). */
export function makeSafetensors(tensors: Record<string, number[]>, seed = 7): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(text(json), 8);
  out.set(pseudoRandomBytes(offset, seed), 8 + json.length);
  return out;
}

/** Tensor shapes of handMadeFiles' model.safetensors: 64*128 + 128*128 + 128 = 24704 F32 parameters. */
export const HAND_MADE_PARAMS = 64 * 128 + 128 * 128 + 128;

export function handMadeFiles(seed = 1): RepoFiles {
  const tokenizer = text(JSON.stringify({ version: '1.0', model: { vocab: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`tok${i}`, i])) } }));
  return {
    'config.json': text(JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 128, seed })),
    'tokenizer_config.json': text(JSON.stringify({ eos_token: '<|endoftext|>', chat_template: '{{ messages }}' })),
    'tokenizer.json': tokenizer,
    'model.safetensors': makeSafetensors({ 'model.embed_tokens.weight': [64, 128], 'model.layers.0.mlp.weight': [128, 128], 'model.norm.weight': [128] }, seed),
    'README.md': text('---\nlicense: apache-2.0\n---\n# hand made\n'),
    'empty.txt': new Uint8Array(0),
    'big.dat': pseudoRandomBytes(150_000, seed + 1),
    'sub/other.txt': text('other\n'),
    'sub/dir/notes.txt': text('hello\n'),
  };
}

export function handMadeRepo(id = 'test-org/hand-made', extra: Partial<FakeRepo> = {}): FakeRepo {
  return { id, files: handMadeFiles(), cardData: { license: 'apache-2.0' }, tags: ['en'], ...extra };
}
