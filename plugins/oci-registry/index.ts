/**
 * model-import/oci-registry: models to and from OCI registries as CNCF ModelPack artifacts.
 * `sourceOci` is the import-model source for oci://registry/repository:tag|@digest; `pushModel` backs
 * `model-import push`.
 */
export { sourceOci, NAME } from './src/source-oci.js';
export { pushModel } from './src/push-model.js';
export type { PushOptions, PushResult } from './src/push-model.js';
export { parseReference, formatReference } from './src/reference.js';
export { MEDIA } from './src/modelpack.js';
