/**
 * A small architecture adapter for the kernel's tests: claims "TestForCausalLM", links every fetched file
 * into the output folder, and counts parameters as config.num_parameters.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelImportError, type ModelImportPlugin } from '../../src/index.js';

export interface TestArchOptions {
  failAt?: 'convert';
  architecture?: string;
}

const NAME = 'test/arch';

export function testArch(options: TestArchOptions = {}): ModelImportPlugin {
  const architecture = options.architecture ?? 'TestForCausalLM';
  return {
    name: NAME,
    kind: 'architecture',
    claims: [architecture],
    apply({ hooks }) {
      hooks.recognize.for(architecture).tap(NAME, (config) => {
        if (config.quantization_config) {
          throw new ModelImportError('UNSUPPORTED_VARIANT', `${architecture} with quantization_config is not supported`);
        }
        return {
          adapter: NAME,
          architecture,
          architectureType: 'test',
          family: 'test',
          warnings: [],
          conversionScratchBytes: () => 0,
        };
      });
      hooks.convert.for(architecture).tapPromise(NAME, async (job) => {
        if (options.failAt === 'convert') throw new Error('injected failure in convert');
        for (const file of job.plan.files) {
          await fs.link(path.join(job.rawDir, file.path), path.join(job.outDir, file.path));
        }
        return {
          components: [{ component: 'weights', status: 'ok', detail: 'linked', warnings: [] }],
          parameterCount: Number(job.plan.config.num_parameters ?? 0),
          dtype: 'f32',
        };
      });
    },
  };
}

export default testArch;
