/**
 * The plugins that ship with model-import, by the names a config file may use. The CLI (not the kernel)
 * knows them, so that a config can say 'model-import/arch-qwen' whether model-import is installed or
 * run from its own repository, and so that importing them stays lazy (onnxruntime is heavy).
 */
import type { ModelImportPlugin } from '../kernel/plugin.js';

type Factory = (options?: unknown) => ModelImportPlugin;

/** Imports a shipped plugin's barrel (a sibling of src/ in the source tree and in dist/) and picks its factory. */
function shipped(folder: string, factoryName: string): () => Promise<Factory> {
  return async () => {
    const url = new URL(`../../plugins/${folder}/index.js`, import.meta.url);
    const module = (await import(url.href)) as Record<string, unknown>;
    return module[factoryName] as Factory;
  };
}

export const BUILTIN_PLUGINS: Readonly<Record<string, () => Promise<Factory>>> = Object.freeze({
  'model-import/source-local': shipped('source-local', 'sourceLocal'),
  'model-import/source-huggingface': shipped('source-huggingface', 'sourceHuggingface'),
  'model-import/arch-qwen': shipped('arch-qwen', 'archQwen'),
  'model-import/validator-forward': shipped('validator-forward', 'validatorForward'),
  'model-import/source-oci': shipped('oci-registry', 'sourceOci'),
});

/** Used when no config file is found. */
export const DEFAULT_PLUGINS = Object.freeze(Object.keys(BUILTIN_PLUGINS));
