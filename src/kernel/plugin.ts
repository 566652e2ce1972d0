/**
 * A plugin is an object with a name and an `apply(kernel)` that taps hooks (the webpack shape).
 * `apply` only taps: no I/O, no terminal, no work. The work happens when the kernel calls the hooks.
 */
import type { KernelHooks } from './hooks.js';

export type PluginKind = 'source' | 'architecture' | 'validator' | 'other';

export interface PluginHost {
  readonly hooks: KernelHooks;
}

export interface ModelImportPlugin {
  /** Unique name; used in every tap and in error messages. Convention: the npm package name. */
  name: string;
  kind?: PluginKind;
  /** What it claims, for `model-import plugins` (architectures, sources, checks). */
  claims?: string[];
  apply(kernel: PluginHost): void;
}

export function isPlugin(value: unknown): value is ModelImportPlugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ModelImportPlugin).name === 'string' &&
    typeof (value as ModelImportPlugin).apply === 'function'
  );
}
