/**
 * The fake Hugging Face Hub for tests, the demo and the benchmark. Import from here, not from the files behind it.
 */
export { startFakeHub } from './server.js';
export type { FakeHub, FakeRepo, Fault, LazyFile, LoggedRequest, RepoFiles, StartOptions } from './types.js';
export { lazyFileFromDisk, lazyPatternFile } from './lazy-file.js';
export { gitBlobSha1, lfsPointer, sha256Hex } from './git-hash.js';
export { isLfsPath, isWeightPath, LFS_SIZE_THRESHOLD, LFS_TOKENIZER_THRESHOLD, WEIGHT_EXTENSIONS } from './repo-model.js';
export { INVALID_CREDENTIALS } from './http-error.js';
export { FAKE_USER_NAME } from './route-auth.js';
export * from './standard-repos.js';
export { handMadeRepo, handMadeFiles, makeSafetensors, pseudoRandomBytes } from './hand-made-repo.js';
