/**
 * How much disk conversion needs beyond the downloaded files, decided from the file list before any byte is
 * fetched (the kernel's disk pre-check). Linking needs nothing; rewriting needs the size of what is written.
 */
import type { ImportOptions, PlannedFile, TargetDtype } from '../../../../src/index.js';

const BYTES: Record<TargetDtype, number> = { bf16: 2, f16: 2, f32: 4 };

export function isWeightFile(path: string): boolean {
  return /\.(safetensors|bin)$/.test(path);
}

export function conversionScratchBytes(
  files: readonly PlannedFile[],
  options: Pick<ImportOptions, 'dtype' | 'maxShardSize'>,
  configDtype: TargetDtype | undefined,
  /** FP8 block-quantised (1 byte per weight): always rewritten, to --dtype or bf16. */
  fp8 = false,
): number {
  const weights = files.filter((f) => f.role === 'weights' || (f.role !== 'weights-index' && isWeightFile(f.path)));
  const total = weights.reduce((sum, f) => sum + f.size, 0);
  if (fp8) return total * BYTES[options.dtype ?? 'bf16'];
  const pickled = weights.some((f) => f.path.endsWith('.bin'));
  const dtypeChange = options.dtype !== undefined && options.dtype !== configDtype;
  const reshard = options.maxShardSize !== undefined && weights.some((f) => f.size > options.maxShardSize!);
  if (!pickled && !dtypeChange && !reshard) return 0;
  if (!dtypeChange) return total;
  // Unknown source dtype: assume the narrowest (2 bytes), which gives the largest estimate for a widening.
  const from = configDtype ? BYTES[configDtype] : 2;
  return Math.ceil((total * BYTES[options.dtype!]) / from);
}
