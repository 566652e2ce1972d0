/** What the config says the checkpoint must hold. */

export interface TensorSpec {
  name: string;
  shape: readonly number[];
}

/**
 * One unit of the inventory. Most groups have a single layout; an MoE layer's experts may be stored either
 * per expert (`experts.{e}.gate_proj.weight`, ...) or fused into 3-D tensors (transformers v5), so that group
 * lists both layouts and the checkpoint must match exactly one of them.
 */
export interface TensorGroup {
  /** For messages, e.g. "layer 3 experts". */
  what: string;
  layouts: TensorSpec[][];
}

export function single(spec: TensorSpec): TensorGroup {
  return { what: spec.name, layouts: [[spec]] };
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
