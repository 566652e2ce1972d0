/**
 * The values the pickle VM builds (pickle-vm.ts): insertion-ordered dicts, storage and tensor references, allowed
 * globals, the MARK sentinel; tuples are frozen arrays. Plus the two helpers that look at them without walking
 * into containers: dict keys and error descriptions.
 */
import type { AllowedGlobal } from './allowed-globals.js';
import type { SafetensorsDtype } from '../safetensors/dtypes.js';

/** A Python dict or OrderedDict: insertion-ordered. */
export class PickleDict {
  readonly map = new Map<unknown, unknown>();
  /** State set by BUILD (an OrderedDict's __dict__, e.g. state_dict._metadata). */
  state: unknown;
}

/** A persistent storage reference: ('storage', torch.XStorage, key, location, numel). */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly dtype: SafetensorsDtype;
  readonly location: string;
  readonly numel: number;
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export class GlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly allowed: AllowedGlobal,
  ) {}
}

export const MARK = Symbol('mark');
/** Tuples are frozen arrays, lists plain arrays. */
export const isTuple = (value: unknown): value is readonly unknown[] => Array.isArray(value) && Object.isFrozen(value);

const isPlain = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === null;

/**
 * Dict keys must be plain values (strings or numbers); anything else could not be a state-dict key anyway. A
 * tuple of plain values becomes one string key; any other tuple keeps its identity, so no key is ever built by
 * walking a structure (a self-referencing or exponentially shared one would hang or overflow).
 */
export function hashable(key: unknown): unknown {
  if (isPlain(key)) return key;
  if (isTuple(key) && key.length <= 64 && key.every(isPlain)) return JSON.stringify(key.map((v) => (typeof v === 'bigint' ? v.toString() : v)));
  return key; // identity key (e.g. an object); harmless, never a tensor name
}

/** A short description of any loaded value for error messages; never walks into containers. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (isPlain(value)) return String(value);
  if (isTuple(value)) return `a tuple of ${value.length}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof PickleDict) return `a dict of ${value.map.size}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return 'an object';
}
