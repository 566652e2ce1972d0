/**
 * A small validator for the kernel's tests: every expected file exists with its size; optionally fails.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ModelImportPlugin } from '../../src/index.js';

const NAME = 'test/validator';

export function testValidator(options: { fail?: boolean; throwError?: boolean } = {}): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'validator',
    claims: ['files-present'],
    apply({ hooks }) {
      hooks.validate.tapPromise(NAME, async (subject, report) => {
        if (options.throwError) throw new Error('injected crash in validate');
        let missing = 0;
        for (const file of subject.expectedFiles) {
          const stat = await fs.stat(path.join(subject.modelDir, file.path)).catch(() => undefined);
          if (!stat || stat.size !== file.size) missing++;
        }
        if (missing > 0 || options.fail) report.fail(NAME, 'files-present', options.fail ? 'injected validation failure' : `${missing} files missing`);
        else report.pass(NAME, 'files-present', `${subject.expectedFiles.length} files`);
      });
    },
  };
}

export default testValidator;
