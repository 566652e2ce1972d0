/**
 * The file-format modules this plugin uses, in one place: src/formats is not part of the kernel barrel, so if it
 * moves or gets its own package entry only this file changes.
 */
export {
  SafetensorsReader,
  SAFETENSORS_INDEX_FILE,
  buildSafetensorsIndex,
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
