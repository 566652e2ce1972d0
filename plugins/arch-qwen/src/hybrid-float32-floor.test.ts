/**
 * Why the hybrid Qwen families validate with a looser logits tolerance than the plain decoders (1e-4): on some
 * tiny hybrid checkpoints the logits are so sensitive to float32 rounding that two correct float32 forward passes
 * cannot agree within 1e-4. The proof here needs no second implementation: the kit's reference forward runs twice
 * on one checkpoint whose embedding is stored in float32, the second time with every embedding value moved by one
 * float32 ulp (up or down at random), i.e. by less than the rounding every float32 step of a forward pass makes.
 * The logits move by more than 1e-4, and stay below the family's tolerance; a plain tiny Qwen3 moves by < 1e-5.
 *
 * The sensitive place (measured against a float64 run, see the tolerance comment in qwen3-next-family.ts): a
 * Gated DeltaNet head whose delta-rule output is tiny (a head that forgets within a token gives o ≈ (q·k)·β·v, and
 * q·k ≈ 0 for that token), which the gated RMSNorm then scales up by up to 1/sqrt(eps) = 1000 over its 8 values.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHooks, encodeSafetensors, type ModelConfig } from '../../../src/index.js';
import { tempDir } from '../../../test/support/temp.js';
import { mulberry32 } from '../../../test/fixtures/prng.js';
import { tinyConfig, tinyTensors } from '../../../test/fixtures/tiny-models.js';
import { hybridTensorValues, tinyHybridConfig, tinyHybridTensors, type TinyHybridOptions } from '../../../test/fixtures/tiny-hybrid-models.js';
import { referenceForward } from '../../decoder-kit/index.js';
import { archQwen } from '../index.js';

/** The prompt validation runs on these fixtures: "The capital of France is" through the tiny tokenizer. */
const PROMPT = [51, 258, 269, 64, 79, 270, 282, 286, 220, 37, 81, 272, 66, 68, 298];

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-float32-floor-'));
});
afterAll(async () => cleanup());

interface StoredTensor {
  name: string;
  shape: number[];
  dtype: 'BF16' | 'F16' | 'F32';
  data: Uint8Array;
}

/** The checkpoint with its embedding as float32 (the same values), optionally each nudged by one float32 ulp. */
async function writeCheckpoint(dir: string, config: ModelConfig, tensors: StoredTensor[], embedding: Float32Array, nudge: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  const random = mulberry32(7);
  const values = Float32Array.from(embedding);
  const bits = new Uint32Array(values.buffer);
  // ±1 in the bit pattern of a finite non-zero float32 is its neighbour: one ulp away, same sign.
  if (nudge) for (let i = 0; i < bits.length; i++) if (values[i] !== 0) bits[i] += random() < 0.5 ? 1 : -1;
  const stored = tensors.map((t) => (t.name.endsWith('.embed_tokens.weight') ? { ...t, dtype: 'F32' as const, data: new Uint8Array(values.buffer) } : t));
  await writeFile(path.join(dir, 'model.safetensors'), encodeSafetensors(stored, { format: 'pt' }));
}

/** Largest |Δ| of the reference's logits between the checkpoint and its one-ulp neighbour. */
async function floor(name: string, config: ModelConfig, tensors: StoredTensor[], embedding: Float32Array): Promise<number> {
  const [exact, nudged] = [path.join(root, name, 'exact'), path.join(root, name, 'nudged')];
  await writeCheckpoint(exact, config, tensors, embedding, false);
  await writeCheckpoint(nudged, config, tensors, embedding, true);
  const a = (await referenceForward(exact, { inputIds: [PROMPT] })).logits;
  const b = (await referenceForward(nudged, { inputIds: [PROMPT] })).logits;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function hybridFloor(name: string, options: TinyHybridOptions): Promise<number> {
  const tensors = tinyHybridTensors(options);
  const embedding = hybridTensorValues(tensors.find((t) => t.name.endsWith('.embed_tokens.weight'))!);
  return floor(name, tinyHybridConfig(options), tensors, embedding);
}

function tolerance(config: ModelConfig): number {
  const hooks = createHooks();
  archQwen().apply({ hooks });
  return hooks.recognize.for(String(config.architectures![0])).call(config, undefined)!.validation!.tolerance;
}

describe('the hybrid logits tolerance is the float32 floor of these decoders, not slack', () => {
  it('one float32 ulp on the embedding moves a tiny Qwen3.5\'s logits by more than 1e-4 and less than the family tolerance', async () => {
    // The text-only Qwen3.5 of hybrid-seeded-defects.test.ts (seed 43): 6.8e-4 here, against 3.8e-4 between the
    // graph and this reference on the same prompt.
    const options: TinyHybridOptions = { family: 'qwen3_5', seed: 43, textOnly: true };
    const moved = await hybridFloor('qwen3_5-43', options);
    expect(moved).toBeGreaterThan(1e-4);
    expect(moved).toBeLessThan(tolerance(tinyHybridConfig(options)));
  });

  it('the same nudge leaves a well-conditioned checkpoint within 1e-4 (the probe measures conditioning, not itself)', async () => {
    // The Qwen3.5 wrapper of seed 43 (other tensor names, so other weights): 6.4e-6.
    expect(await hybridFloor('qwen3_5-43-wrapped', { family: 'qwen3_5', seed: 43 })).toBeLessThan(1e-4);
  });

  it('a plain tiny Qwen3 moves by far less than its 1e-4 (why 1e-4 holds there)', async () => {
    // 64 plain tiny decoders (qwen2, qwen3 and their MoE, 8 seeds, 2 prompts) measured at most 5.7e-6.
    const options = { family: 'qwen3' as const, seed: 21 };
    const tensors = tinyTensors(options);
    const embedding = tensors.find((t) => t.name.endsWith('.embed_tokens.weight'))!.values;
    const config = tinyConfig(options);
    expect(await floor('qwen3-21', config, tensors.map(({ name, shape, dtype, data }) => ({ name, shape, dtype, data })), embedding)).toBeLessThan(1e-5);
    expect(tolerance(config)).toBe(1e-4);
  });
});
