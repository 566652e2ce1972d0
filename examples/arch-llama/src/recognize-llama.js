// @ts-check
/**
 * The recognize tap's answer: an ArchitectureClaim built from config.json alone, or a refusal.
 *
 * The claim has no `validation` field on purpose: this adapter writes no ONNX graph and has no reference forward
 * pass, so a forward-pass validator has nothing to run and reports its forward check as skipped. Integrity checks
 * (files, sha256, strict safetensors) still run.
 */
import { ModelImportError } from 'model-import';
import { ARCHITECTURE, NAME } from './names.js';
import { LIMITS, readLlamaConfig, refuse } from './read-llama-config.js';
import { parametersFromConfig } from './llama-tensors.js';

/** @import { ArchitectureClaim, ModelConfig, StageContext } from 'model-import' */
/** @import { ArchLlamaOptions } from './arch-llama.js' */

/**
 * @param {string} key the recognize key the kernel used (architectures[0], else model_type)
 * @param {ModelConfig} config
 * @param {StageContext | undefined} context undefined when the kernel only asks what a config is
 * @param {ArchLlamaOptions} options
 * @returns {ArchitectureClaim}
 */
export function recognizeLlama(key, config, context, options) {
  const { dims, warnings } = readLlamaConfig(config, options);
  const parameters = parametersFromConfig(dims);
  if (parameters > LIMITS.parameters) refuse(`the sizes in config.json make ${parameters.toExponential(2)} parameters`);
  refuseRewrites(context, dims.configDtype);
  return {
    adapter: NAME,
    architecture: key,
    architectureType: 'llama',
    family: 'llama',
    warnings,
    estimatedParameters: parameters,
    // The weights are hard-linked, never rewritten: conversion needs no scratch space.
    conversionScratchBytes: () => 0,
  };
}

/**
 * This adapter links the checkpoint as it is. --dtype asking for another dtype than config.json announces is
 * refused here, before the download; the weights' real dtypes are checked again at conversion.
 * @param {StageContext | undefined} context
 * @param {string | undefined} configDtype
 */
function refuseRewrites(context, configDtype) {
  const wanted = context?.options.dtype;
  if (wanted !== undefined && wanted !== configDtype) {
    throw new ModelImportError('USAGE', `${NAME} keeps the checkpoint's dtype (${configDtype ?? 'unknown'}); --dtype ${wanted} would need rewriting the weights.`, {
      hint: `Import without --dtype, or use an adapter that converts ${ARCHITECTURE} weights.`,
    });
  }
}
