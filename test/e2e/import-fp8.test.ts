/**
 * A fine-grained FP8 repository (the layout of Qwen's -FP8 releases) imported as a user would: the real CLI
 * against the fake hub. The weights are dequantised to bf16, the scales dropped, config.json published without
 * quantization_config, and the forward-pass validation runs on the converted weights.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SafetensorsReader, bf16ToF32, f32ToBf16 } from '../../src/formats/safetensors/index.js';
import { startFakeHub, type FakeHub } from '../fake-hub/index.js';
import { makeTinyFp8Model, type TinyFp8Model } from '../fixtures/tiny-fp8.js';
import { hubCliEnv, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

let hub: FakeHub;
let model: TinyFp8Model;
let project: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  model = makeTinyFp8Model({ family: 'qwen2', seed: 21 });
  hub = await startFakeHub({ repos: [{ id: 'tiny-org/qwen2-tiny-fp8', files: model.files, cardData: { license: 'apache-2.0' } }] });
});
afterAll(async () => hub.close());
beforeEach(async () => {
  ({ dir: project, cleanup } = await tempDir('model-import-fp8-'));
});
afterEach(async () => cleanup());

const cli = (args: string[]) =>
  runCli(args, { cwd: project, env: hubCliEnv(hub.url, project) });

describe('import-model of an FP8 repository', () => {
  it('dequantises to bf16, drops the scales and quantization_config, validates the converted weights, says so in metadata', async () => {
    const result = await cli(['import-model', 'tiny-org/qwen2-tiny-fp8', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { model: entry } = JSON.parse(result.stdout);
    const findings = entry.validation.findings as Array<{ check: string; status: string }>;
    expect(findings.filter((f) => f.status === 'fail'), JSON.stringify(findings)).toEqual([]);
    // The forward pass was compared with the reference on these weights, not skipped.
    expect(findings.find((f) => f.check === 'reference')?.status).toBe('pass');

    const dir = path.join(project, 'models', 'qwen2-tiny-fp8');
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.torch_dtype).toBe('bfloat16');

    const reader = await SafetensorsReader.open(path.join(dir, 'model.safetensors'));
    try {
      expect(reader.tensors.filter((t) => t.name.endsWith('_scale_inv'))).toEqual([]);
      expect(new Set(reader.tensors.map((t) => t.dtype))).toEqual(new Set(['BF16']));
      for (const [name, expected] of model.dequantized) {
        const bytes = await reader.read(name);
        const got = bf16ToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
        expect(got, name).toEqual(bf16ToF32(f32ToBf16(expected)));
      }
    } finally {
      await reader.close();
    }

    const metadata = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'));
    expect(metadata.conversion.dtype).toBe('bf16');
    expect(metadata.conversion.details.quantization).toEqual(
      expect.objectContaining({ source: 'fp8', format: 'F8_E4M3', dequantizedTo: 'bf16', tensors: 14, scalesDropped: 14 }),
    );
  });
});
