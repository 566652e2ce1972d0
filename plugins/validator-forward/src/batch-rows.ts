/**
 * Batch rows [from, to) of a tensor (its first dimension) as a tensor of its own: one call of a batched decoder
 * continued alone. Used in the CLI (cacheRowsHere) and in the onnxruntime process (kept tensors, output rows).
 */
import { Tensor } from 'onnxruntime-node';

export function batchRows(tensor: Tensor, from: number, to: number): Tensor {
  const [batch, ...rest] = tensor.dims;
  if (from === 0 && to === batch) return tensor;
  const per = tensor.size / batch!;
  const data = (tensor.data as Float32Array | Uint16Array).slice(from * per, to * per);
  return new Tensor(tensor.type, data as never, [to - from, ...rest]);
}
