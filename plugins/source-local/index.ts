export { sourceLocal, NAME } from './src/source-local.js';
export { hubCacheDir, parseSnapshotPath } from './src/hf-cache.js';
