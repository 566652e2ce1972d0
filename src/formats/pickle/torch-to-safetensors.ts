import { writeSafetensors, type WriteOptions } from '../safetensors/writer.js';
import type { SafetensorsHeader } from '../safetensors/read-header.js';
import { readTorchCheckpoint, type TorchTensorInfo } from './read-torch-checkpoint.js';

export interface TorchToSafetensorsOptions extends WriteOptions {
  /** Default {format: 'pt'}, what transformers writes. */
  metadata?: Record<string, string>;
  /** Leave out tensors (e.g. a tied lm_head that shares the embedding's storage). */
  skip?: (tensor: TorchTensorInfo) => boolean;
}

/**
 * Re-writes a PyTorch zip checkpoint as safetensors, tensor by tensor in chunks (bounded memory). Tensors that
 * share a storage are written as separate copies, since safetensors has no sharing.
 */
export async function torchCheckpointToSafetensors(
  input: string,
  output: string,
  options: TorchToSafetensorsOptions = {},
): Promise<SafetensorsHeader> {
  const checkpoint = await readTorchCheckpoint(input);
  try {
    const tensors = checkpoint.tensors
      .filter((tensor) => !options.skip?.(tensor))
      .map((tensor) => ({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, data: () => checkpoint.tensorChunks(tensor) }));
    return await writeSafetensors(output, tensors, options.metadata ?? { format: 'pt' }, options);
  } finally {
    await checkpoint.close();
  }
}
