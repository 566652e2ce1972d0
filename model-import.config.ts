// The project's own config: the three shipped plugins. A user's project writes the same file with
// `import { defineConfig } from 'model-import'`.
import { defineConfig } from 'model-import';

export default defineConfig({
  plugins: ['model-import/source-huggingface', 'model-import/arch-qwen', 'model-import/validator-forward'],
  modelsDir: 'models',
});
