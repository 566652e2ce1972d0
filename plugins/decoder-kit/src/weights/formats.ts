/**
 * The file formats this plugin uses (strict safetensors, and the pickle reader for pytorch_model*.bin), from the
 * public barrel, gathered here so the rest of the kit names one module for them.
 */

/** The index of a sharded pytorch_model-*.bin checkpoint (here, not in source-checkpoint.ts, to keep imports acyclic). */
export const PYTORCH_INDEX_FILE = 'pytorch_model.bin.index.json';

export {
  BufferRing,
  SafetensorsReader,
  SAFETENSORS_INDEX_FILE,
  buildSafetensorsIndex,
  checkSafetensorsIndex,
  parseSafetensorsIndex,
  convertFloatChunks,
  convertedByteLength,
  readSafetensorsHeader,
  readShardedSafetensors,
  readTorchCheckpoint,
  shardFileName,
  writeSafetensors,
  writeSafetensorsIndex,
  type FloatDtype,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type TensorToWrite,
  type TorchCheckpoint,
  type TorchTensorInfo,
} from '../../../../src/index.js';
