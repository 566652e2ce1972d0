import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.js';
import { loadPlugins } from './load-plugins.js';

describe('loadPlugins', () => {
  it("points a file plugin's 'model-import' and 'model-import/decoder-kit' imports at this copy", async () => {
    const { dir, cleanup } = await tempDir('load-plugins-alias-');
    try {
      // A folder with no node_modules: only the loader's aliases can resolve these specifiers.
      await writeFile(join(dir, 'zeta.ts'), [
        "import { ModelImportError } from 'model-import';",
        "import { DecoderFamily, defineDecoderPlugin } from 'model-import/decoder-kit';",
        "import { writeSeededModel } from 'model-import/decoder-kit/testing';",
        "class ZetaFamily extends DecoderFamily { architecture = 'ZetaForCausalLM'; modelType = 'zeta'; members = 'Zeta'; familyName = 'zeta'; }",
        "export default function zeta() {",
        "  if (typeof ModelImportError !== 'function' || typeof writeSeededModel !== 'function') throw new Error('missing exports');",
        "  return defineDecoderPlugin({ name: 'test/zeta', families: [new ZetaFamily()] });",
        "}",
      ].join('\n'));
      const [loaded] = await loadPlugins({ plugins: ['./zeta.ts'], settings: {}, baseDir: dir });
      expect(loaded.plugin.name).toBe('test/zeta');
      expect(loaded.plugin.claims).toEqual(['ZetaForCausalLM']);
    } finally {
      await cleanup();
    }
  });
});
