/** pytorch_model*.bin through the safe pickle reader (src/formats/pickle). */
import { ModelImportError } from '../../../../src/index.js';
import type { SourceCheckpoint } from './source-checkpoint.js';

export async function openPytorchCheckpoint(_rawDir: string): Promise<SourceCheckpoint> {
  throw new ModelImportError('CONVERSION_FAILED', 'pytorch_model*.bin conversion is not available yet');
}
