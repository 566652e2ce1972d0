/**
 * PyTorch zip checkpoints (pytorch_model*.bin) read without executing pickle code: our own zip reader, a pickle
 * VM that builds data only, and an allow-list of the few globals a state dict names.
 */
export { readTorchCheckpoint, isContiguous } from './read-torch-checkpoint.js';
export type { ReadTorchCheckpointOptions, TorchCheckpoint, TorchTensorInfo } from './read-torch-checkpoint.js';
export { torchCheckpointToSafetensors } from './torch-to-safetensors.js';
export type { TorchToSafetensorsOptions } from './torch-to-safetensors.js';
export { loadPickle, PickleDict } from './pickle-vm.js';
export type { PickleLimits, StorageRef, TensorRef } from './pickle-vm.js';
export { allowedGlobal, STORAGE_TYPES } from './allowed-globals.js';
export type { AllowedGlobal } from './allowed-globals.js';
export { ZipArchive } from './zip-reader.js';
export type { ZipEntry, ZipLimits } from './zip-reader.js';
