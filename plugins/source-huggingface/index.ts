/** model-import/source-huggingface: Hugging Face Hub repos -> verified files in the staging folder. */
export { sourceHuggingface } from './src/source-huggingface.js';
export type { SourceHuggingfaceOptions } from './src/options.js';
export { NAME } from './src/names.js';
// The ranged HTTP/1.1 reader (proxies, CONNECT tunnels, stall clock), which the OCI source uses for blob ranges too.
export { HttpStatusError, RangeGet, READ_BUFFER_BYTES } from './src/range-get.js';

import { sourceHuggingface } from './src/source-huggingface.js';

/** The plugin with default options (endpoint and tokens from the environment). */
export const plugin = sourceHuggingface();
