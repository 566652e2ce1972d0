export { sourceLocal, NAME } from './src/source-local.js';
export { parseSnapshotPath } from './src/hf-cache.js';
// Kept on this entry for existing users; the function now lives in the kernel's public entry (src/formats/hf-layout.ts).
export { hubCacheDir } from '../../src/index.js';
