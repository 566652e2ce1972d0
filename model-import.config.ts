// The project's own config: the shipped plugins. A user's project writes the same file with
// `import { defineConfig } from 'model-import'` and lists its own plugins beside (or instead of) these.
import { defineConfig } from 'model-import';

export default defineConfig({
  plugins: [
    'model-import/source-local',
    'model-import/source-huggingface',
    'model-import/arch-qwen',
    'model-import/validator-forward',
    'model-import/source-oci',
  ],
  modelsDir: 'models',
});
