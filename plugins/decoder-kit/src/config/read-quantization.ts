/**
 * quantization_config: only fine-grained FP8 (quant_method "fp8", e4m3 weights with one float32
 * weight_scale_inv per block, transformers/integrations/finegrained_fp8.py and FineGrainedFP8Config) is read;
 * every other method (gptq, awq, bitsandbytes, ...) is refused naming it, exit 3.
 */
import { refuseConfig } from './refuse-config.js';

export interface QuantizationReading {
  method: 'fp8';
  /** [rows, columns] of one scale block; FineGrainedFP8Config's default is [128, 128]. */
  blockSize: [number, number];
  /** Module name fragments kept unquantised (e.g. "lm_head"). */
  modulesNotConverted: string[];
}

const KNOWN = new Set(['quant_method', 'fmt', 'weight_block_size', 'activation_scheme', 'modules_to_not_convert', 'dequantize']);

export function readQuantization(arch: string, value: unknown): QuantizationReading | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) refuseConfig(arch, 'quantization_config', 'is not an object');
  const q = value as Record<string, unknown>;
  const method = q.quant_method;
  if (method !== 'fp8') {
    const named = typeof method === 'string' ? method.replace(/[^\w.-]/g, '?').slice(0, 40) : JSON.stringify(method);
    refuseConfig(arch, 'quantization_config.quant_method', `is "${named}"; only "fp8" block-quantised checkpoints can be imported (GPTQ, AWQ and others are not)`);
  }
  for (const key of Object.keys(q)) {
    if (!KNOWN.has(key)) refuseConfig(arch, `quantization_config.${key}`, 'is not understood');
  }
  // FineGrainedFP8Config: fmt "e4m3" (float8_e4m3fn) is the only weight format; activation_scheme "dynamic"
  // quantises activations per token group at run time, which a dequantised forward does not reproduce bit for
  // bit but transformers' own CPU fallback (dequantize) does not either.
  if ((q.fmt ?? 'e4m3') !== 'e4m3') refuseConfig(arch, 'quantization_config.fmt', `is ${JSON.stringify(q.fmt)}; supported: "e4m3"`);
  if ((q.activation_scheme ?? 'dynamic') !== 'dynamic') {
    refuseConfig(arch, 'quantization_config.activation_scheme', `is ${JSON.stringify(q.activation_scheme)}; supported: "dynamic"`);
  }
  const block = q.weight_block_size ?? [128, 128];
  if (!Array.isArray(block) || block.length !== 2 || !block.every((n) => Number.isSafeInteger(n) && (n as number) > 0 && (n as number) <= 65536)) {
    refuseConfig(arch, 'quantization_config.weight_block_size', `is ${JSON.stringify(block).slice(0, 40)}, expected [rows, columns]`);
  }
  const skip = q.modules_to_not_convert ?? [];
  if (!Array.isArray(skip) || !skip.every((s) => typeof s === 'string')) {
    refuseConfig(arch, 'quantization_config.modules_to_not_convert', 'is not a list of module names');
  }
  return { method: 'fp8', blockSize: [block[0] as number, block[1] as number], modulesNotConverted: skip as string[] };
}
