import { cannotWrite } from './bad-file.js';
import { planSafetensors, type TensorSpec } from './plan.js';

/**
 * A whole safetensors file in memory, byte-identical to what writeSafetensors() writes for the same input. For
 * small files only (fixtures, a fake hub, tiny test models).
 */
export function encodeSafetensors(
  tensors: ReadonlyArray<TensorSpec & { data: Uint8Array }>,
  metadata?: Record<string, string>,
  file = 'model.safetensors',
): Uint8Array {
  const plan = planSafetensors(tensors, metadata, file);
  const out = new Uint8Array(plan.fileSize);
  out.set(plan.prefix, 0);
  plan.order.forEach((index, k) => {
    const info = plan.tensors[k];
    const data = tensors[index].data;
    if (data.length !== info.end - info.begin) {
      throw cannotWrite(file, `tensor ${JSON.stringify(info.name)} has ${data.length} bytes, its shape needs ${info.end - info.begin}`);
    }
    out.set(data, info.fileOffset);
  });
  return out;
}
