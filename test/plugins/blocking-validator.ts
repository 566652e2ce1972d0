/**
 * A validator that behaves as onnxruntime-node does on a real model: it blocks the event loop in long
 * synchronous calls (onnxruntime-node runs InferenceSession.run on the main thread), one after another, and never
 * looks at the abort signal. When it gets to the end it writes `finished` into the model folder's parent, so a
 * test can tell an import that stopped on Ctrl-C from one that sat the whole validation out.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelImportPlugin } from '../../src/index.js';

const NAME = 'test/blocking-validator';

export function blockingValidator(options: { calls?: number; callMs?: number; marker: string }): ModelImportPlugin {
  return {
    name: NAME,
    kind: 'validator',
    claims: ['blocking'],
    apply({ hooks }) {
      hooks.validate.tapPromise(NAME, async (_subject, report) => {
        for (let i = 0; i < (options.calls ?? 40); i++) {
          const until = Date.now() + (options.callMs ?? 500);
          while (Date.now() < until) {
            // busy, as a native call on this thread
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        writeFileSync(path.resolve(options.marker), 'validation ran to its end\n');
        report.pass(NAME, 'blocking', 'ran to its end');
      });
    },
  };
}

export default blockingValidator;
