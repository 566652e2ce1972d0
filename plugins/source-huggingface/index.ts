/** model-import/source-huggingface: Hugging Face Hub repos -> verified files in the staging folder. */
export { sourceHuggingface } from './src/source-huggingface.js';
export type { SourceHuggingfaceOptions } from './src/options.js';
export { NAME } from './src/names.js';

import { sourceHuggingface } from './src/source-huggingface.js';

/** The plugin with default options (endpoint and tokens from the environment). */
export const plugin = sourceHuggingface();
