/**
 * The file-format modules (safetensors, and the pickle reader for pytorch_model*.bin) this plugin uses, in one place: src/formats is not part of the kernel barrel, so if it
 * moves or gets its own package entry only this file changes.
 */
export {
  SafetensorsReader,
  SAFETENSORS_INDEX_FILE,
  buildSafetensorsIndex,
  checkSafetensorsIndex,
  parseSafetensorsIndex,
  convertFloatChunks,
  convertedByteLength,
  readSafetensorsHeader,
  readShardedSafetensors,
  shardFileName,
  writeSafetensors,
  writeSafetensorsIndex,
  type FloatDtype,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type TensorToWrite,
} from '../../../../src/formats/safetensors/index.js';
export { readTorchCheckpoint, type TorchCheckpoint, type TorchTensorInfo } from '../../../../src/formats/pickle/index.js';
