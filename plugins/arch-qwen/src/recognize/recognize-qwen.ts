/** Builds the ArchitectureClaim for a config the family accepts (the recognize tap's answer). */
import type { ArchitectureClaim, ModelConfig, ValidationSupport } from '../../../../src/index.js';
import { NAME } from '../name.js';
import type { QwenFamily } from '../families/family-map.js';
import { conversionScratchBytes } from './conversion-scratch-bytes.js';
import type { ArchQwenOptions } from '../options.js';
import { defaultSessionOptions } from '../onnx/session-options.js';

/** What the reference forward pass (plain TypeScript over Float32Array) is meant for: tiny models. */
export const DEFAULT_MAX_REFERENCE_PARAMETERS = 50_000_000;

export function recognizeQwen(family: QwenFamily, key: string, config: ModelConfig, options: ArchQwenOptions): ArchitectureClaim {
  const { dims, warnings } = family.readDims(config);
  const claim: ArchitectureClaim = {
    adapter: NAME,
    architecture: key,
    architectureType: family.modelType,
    family: 'qwen',
    warnings,
    estimatedParameters: family.countParameters(dims),
    conversionScratchBytes: (files, importOptions) => conversionScratchBytes(files, importOptions, dims.configDtype),
  };
  if (family.hasOnnxGraph && options.onnx !== false) claim.validation = validationSupport(family, options);
  return claim;
}

function validationSupport(family: QwenFamily, options: ArchQwenOptions): ValidationSupport {
  return {
    tolerance: family.tolerance,
    onnxGraph: 'onnx/model.onnx',
    maxReferenceParameters: options.maxReferenceParameters ?? DEFAULT_MAX_REFERENCE_PARAMETERS,
    // The options the graph is designed for (no constant folding: it would hold a float32 copy of every weight).
    // A deep copy per claim: consumers (and onnxruntime) may write into the options, e.g. `extra.session`, and
    // a shared object let one session's settings leak into the next (seen in validator-forward's tests).
    sessionOptions: structuredClone(defaultSessionOptions) as Record<string, unknown>,
    // Imported on first call: recognition must not load the reference pass.
    referenceForward: async (modelDir, input) => {
      const { referenceForward } = await import('../reference/index.js');
      return referenceForward(modelDir, input);
    },
  };
}
