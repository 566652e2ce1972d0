/** Builds the ArchitectureClaim for a config the family accepts (the recognize tap's answer). */
import type { ArchitectureClaim, ModelConfig, ValidationSupport } from '../../../../src/index.js';
import type { DecoderFamily } from '../family/decoder-family.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import { conversionScratchBytes } from './conversion-scratch-bytes.js';
import { dimsFacts } from '../config/dims-facts.js';
import type { DecoderPluginOptions } from '../decoder-plugin-options.js';
import { defaultSessionOptions } from '../onnx/session-options.js';

/** What the reference forward pass (plain TypeScript over Float32Array) is meant for: tiny models. */
export const DEFAULT_MAX_REFERENCE_PARAMETERS = 50_000_000;

/**
 * `adapter` is the plugin's name (claim.adapter), which the convert tap compares to tell its own imports.
 */
export function recognizeDecoder(adapter: string, family: DecoderFamily, key: string, config: ModelConfig, options: DecoderPluginOptions): ArchitectureClaim {
  const { dims, warnings } = family.readDims(config);
  const claim: ArchitectureClaim = {
    adapter,
    architecture: key,
    architectureType: family.modelType,
    family: family.familyName,
    warnings,
    estimatedParameters: family.countParameters(dims),
    conversionScratchBytes: (files, importOptions) => conversionScratchBytes(files, importOptions, dims.configDtype, isFp8(config)),
  };
  if (family.coversGraph(dims) && options.onnx !== false) {
    claim.validation = { ...validationSupport(family, dims, options), configFacts: dimsFacts(dims) };
    if (family.transformersJsUnsupported) claim.validation.transformersJsUnsupported = family.transformersJsUnsupported;
  }
  return claim;
}

function validationSupport(family: DecoderFamily, dims: DecoderDims, options: DecoderPluginOptions): ValidationSupport {
  return {
    tolerance: family.tolerance,
    onnxGraph: 'onnx/model.onnx',
    maxReferenceParameters: options.maxReferenceParameters ?? DEFAULT_MAX_REFERENCE_PARAMETERS,
    // The options the graph is designed for (no constant folding: it would hold a float32 copy of every weight).
    // A deep copy per claim: consumers (and onnxruntime) may write into the options, e.g. `extra.session`, and
    // a shared object let one session's settings leak into the next (seen in validator-forward's tests).
    sessionOptions: structuredClone(defaultSessionOptions) as Record<string, unknown>,
    // Imported on first call: recognition must not load the reference pass. It computes from the dims the graph
    // was built from (one reading in the kit); the validator checks that reading against its own.
    referenceForward: async (modelDir, input) => {
      const { referenceForward } = await import('../reference/index.js');
      return referenceForward(modelDir, input, { dims });
    },
  };
}

/** quantization_config says fine-grained FP8 (readDims has accepted no other method). */
function isFp8(config: ModelConfig): boolean {
  const q = config.quantization_config as { quant_method?: unknown } | null | undefined;
  return typeof q === 'object' && q !== null && q.quant_method === 'fp8';
}
