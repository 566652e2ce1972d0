/**
 * What this validator reads from ArchitectureClaim.validation, including the one optional field it proposes
 * for the kernel's ValidationSupport (read structurally until the kernel declares it):
 *
 *   layerwiseForward(modelDir, input, { maxMemory }) -> ReferenceForwardOutput
 *
 * A forward pass that never holds more than about `maxMemory` bytes (e.g. one layer's weights at a time, read
 * from the safetensors, plus the activations), giving the same logits as the ONNX graph within the adapter's
 * tolerance. The validator uses it when the model's float32 weights exceed the memory budget, where opening
 * the whole graph would not fit.
 */
import type { ReferenceForwardInput, ReferenceForwardOutput, ValidationSupport } from '../../../src/index.js';

export interface LayerwiseForwardOptions {
  /** Bytes the pass may use in all (weights, activations, scratch). */
  maxMemory: number;
}

export type LayerwiseForward = (
  modelDir: string,
  input: ReferenceForwardInput,
  options: LayerwiseForwardOptions,
) => Promise<ReferenceForwardOutput>;

export type SupportWithLayerwise = ValidationSupport & { layerwiseForward?: LayerwiseForward };
