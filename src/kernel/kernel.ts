/**
 * The kernel: owns the hooks, the transaction, the registry and the pre-checks, and knows no plugin by name.
 *
 * importModel() runs the pipeline (see hooks.ts for the table of hooks):
 *   resolve -> recognize -> name/duplicate -> authorize -> license -> disk space -> fetch -> convert ->
 *   inventory -> validate -> register (one rename into models/<name>, registry updated under its lock).
 * Every failure, and an abort (Ctrl-C), removes the staging folder and leaves the registry untouched.
 * The duplicate-name and license questions are in dialogs.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHooks, type KernelHooks } from './hooks.js';
import { ModelImportError, isAbortError, wrapPluginError } from './errors.js';
import type { ModelImportPlugin, PluginHost } from './plugin.js';
import type { Prompter } from './prompter.js';
import { Reporter, type StageName } from './reporter.js';
import { Registry } from './registry.js';
import { Staging } from './staging.js';
import { BlobStore } from './blob-store.js';
import { assertDiskSpace } from './disk-space.js';
import { inventoryFolder, knownHashesByInode } from './inventory.js';
import { writeMetadata } from './metadata.js';
import { syncPath, syncTree } from '../util/sync-tree.js';
import { acknowledgeLicense, chooseName } from './dialogs.js';
import { assertModelName, findName, nextFreeName } from './model-name.js';
import { ValidationReport } from './validation-report.js';
import { attributePluginErrors } from './plugin-error-attribution.js';
import { assertPassed, interrupted, modelNotFound } from './pipeline-errors.js';
import { assertInside, ensureModelsFolder, entryFolder } from '../util/path-policy.js';
import type {
  ArchitectureClaim,
  ImportOptions,
  ImportPlan,
  ImportRequest,
  ModelConfig,
  ModelEntry,
  StageContext,
} from './types.js';

export interface KernelIo {
  reporter: Reporter;
  prompter: Prompter;
  signal?: AbortSignal;
  env?: Readonly<Record<string, string | undefined>>;
  settings?: Readonly<Record<string, unknown>>;
}

export interface LoadedPlugin {
  plugin: ModelImportPlugin;
  /** Where it came from: "built-in", a path, or a package name. */
  origin: string;
}

/** The architecture key of a config: `architectures[0]`, else `model_type`, the Hugging Face convention. */
export function architectureKey(config: ModelConfig): string | undefined {
  const first = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  if (typeof first === 'string' && first.length > 0) return first;
  return typeof config.model_type === 'string' && config.model_type.length > 0 ? config.model_type : undefined;
}

export class Kernel implements PluginHost {
  readonly hooks: KernelHooks = createHooks();
  readonly plugins: LoadedPlugin[] = [];
  private readonly recognizeKeys = new Set<string>();

  constructor() {
    attributePluginErrors(this.hooks.resolve, 'resolve');
    attributePluginErrors(this.hooks.authorize, 'authorize');
    attributePluginErrors(this.hooks.fetch, 'fetch');
    attributePluginErrors(this.hooks.validate, 'validate');
    attributePluginErrors(this.hooks.register, 'register');
    this.hooks.recognize.intercept({
      factory: (key, hook) => {
        this.recognizeKeys.add(String(key));
        attributePluginErrors(hook, `recognize(${String(key)})`);
        return hook;
      },
    });
    this.hooks.convert.intercept({
      factory: (key, hook) => {
        attributePluginErrors(hook, `convert(${String(key)})`);
        return hook;
      },
    });
  }

  use(plugin: ModelImportPlugin, origin = 'object'): this {
    if (this.plugins.some((p) => p.plugin.name === plugin.name)) {
      throw new ModelImportError('CONFIG_INVALID', `Plugin ${plugin.name} is listed twice.`, {
        hint: 'Remove the duplicate entry from the plugins list of your model-import config.',
      });
    }
    try {
      plugin.apply(this);
    } catch (error) {
      throw wrapPluginError(error, plugin.name, 'apply');
    }
    this.plugins.push({ plugin, origin });
    return this;
  }

  /**
   * Architectures some loaded plugin recognises, sorted: what the "unsupported" error lists. A plugin that
   * declares `claims` also taps keys it does not advertise (model_type keys for configs without
   * `architectures`); those are left out, so the list names architectures only. A tap from a plugin without
   * `claims` (or under a name no plugin has) is listed as it is.
   */
  supportedArchitectures(): string[] {
    const claimsOf = new Map(this.plugins.map(({ plugin }) => [plugin.name, plugin.claims]));
    const advertised = (key: string): boolean => (this.hooks.recognize.get(key)?.taps ?? []).some((tap) => {
      const claims = claimsOf.get(tap.name);
      return claims === undefined || claims.includes(key);
    });
    return [...this.recognizeKeys].filter((key) => this.hooks.recognize.get(key)?.isUsed() && advertised(key)).sort();
  }

  /** Finds the adapter for a config, or fails listing what is supported. Reads nothing but the config. */
  claim(config: ModelConfig, context?: StageContext): ArchitectureClaim {
    const key = architectureKey(config);
    const supported = this.supportedArchitectures();
    const list = supported.length > 0 ? supported.join(', ') : 'none (no architecture plugin is loaded)';
    const hook = key ? this.hooks.recognize.get(key) : undefined;
    const convert = key ? this.hooks.convert.get(key) : undefined;
    const claim = hook?.isUsed() && convert?.isUsed() ? hook.call(config, context) : undefined;
    if (!key || !claim) {
      const found = key ? `architecture ${key}` : 'a config.json without "architectures" or "model_type"';
      throw new ModelImportError('UNSUPPORTED_ARCHITECTURE', `Unsupported model: found ${found}. Supported architectures: ${list}.`, {
        hint: 'Install and list an architecture plugin for it in model-import.config.ts, or import a supported model.',
        details: { found: key ?? null, supported },
      });
    }
    return claim;
  }

  async importModel(request: ImportRequest, io: KernelIo): Promise<ModelEntry> {
    const options = request.options;
    const context: StageContext = {
      reporter: io.reporter,
      prompter: io.prompter,
      signal: io.signal ?? new AbortController().signal,
      options,
      env: io.env ?? process.env,
      settings: io.settings ?? {},
    };
    const registry = new Registry(options.modelsDir);
    if (options.name !== undefined) assertModelName(options.name);
    await ensureModelsFolder(options.modelsDir); // a file or a dangling link there is refused before anything
    await registry.read(); // a corrupted registry stops the import before any request
    await Staging.cleanAbandoned(options.modelsDir);
    let replaceExisting = false;

    const plan = await this.stage('resolve', context, async () => {
      const resolved = await this.hooks.resolve.promise(request, context);
      if (!resolved) {
        throw new ModelImportError('NO_SOURCE', `No source plugin recognises ${JSON.stringify(request.spec)}.`, {
          hint: 'Pass a Hugging Face repo id such as Qwen/Qwen2.5-0.5B, or enable a source plugin for this kind of input.',
        });
      }
      const claim = this.claim(resolved.config, context);
      for (const warning of claim.warnings) context.reporter.warn(warning, claim.adapter);
      const { name, replace } = await chooseName(resolved.modelId, registry, context);
      replaceExisting = replace;
      const importPlan: ImportPlan = { ...resolved, claim, modelName: name };
      return importPlan;
    });
    context.reporter.emit({
      type: 'plan',
      modelId: plan.modelId,
      modelName: plan.modelName,
      architecture: plan.claim.architecture,
      files: plan.files.length,
      // Files with the same content (same hash) are downloaded and stored once: counted once.
      totalBytes: [...new Map(plan.files.map((f) => [f.sha256 ?? f.gitOid ?? `path:${f.path}`, f.size])).values()].reduce((sum, size) => sum + size, 0),
    });

    await this.stage('authorize', context, async () => {
      await this.hooks.authorize.promise(plan, context);
      await acknowledgeLicense(plan, context);
      // Files the blob store already holds take no new space (a re-import under another name needs none for them).
      const store = await BlobStore.open(options.modelsDir);
      let download = 0;
      for (const f of plan.files) if (!(f.sha256 && (await store.has(f.sha256, f.size)))) download += f.size;
      await assertDiskSpace(options.modelsDir, download, plan.claim.conversionScratchBytes(plan.files, options));
    });

    const staging = await Staging.begin(options.modelsDir, plan.modelName);
    // Verified downloads go into the shared blob store, not the staging folder: whatever stops this import later
    // (Ctrl-C in conversion or validation, a failed check) the rerun, or another name of the same model, links them.
    const blobs = await BlobStore.open(options.modelsDir);
    blobs.onFirstCopy = (why) => context.reporter.warn(`The blob store cannot hard-link: ${why}.`);
    let durable: Promise<unknown> | undefined;
    try {
      const fetched = await this.stage('fetch', context, async () => {
        const result = await this.hooks.fetch.promise(plan, {
          ...context,
          rawDir: staging.rawDir,
          partialDir: blobs.partialDir,
          blobs,
        });
        if (!result) {
          throw new ModelImportError('INTERNAL', `No plugin fetches models resolved by ${plan.resolvedBy}.`, {
            hint: 'The source plugin must tap the fetch hook; report this to its author.',
          });
        }
        return result;
      });

      // Conversion ends with the inventory of what it wrote (sizes and sha256 of every file, for metadata and verify).
      const { converted, inventory } = await this.stage('convert', context, async () => {
        const hook = this.hooks.convert.get(plan.claim.architecture);
        const result = hook ? await hook.promise({ plan, rawDir: staging.rawDir, outDir: staging.outDir }, context) : undefined;
        if (!result) {
          throw new ModelImportError('INTERNAL', `No plugin converted ${plan.claim.architecture}.`, {
            hint: `The adapter ${plan.claim.adapter} must tap convert for it; report this to its author.`,
          });
        }
        const known = await knownHashesByInode(staging.rawDir, fetched.files);
        return { converted: result, inventory: await inventoryFolder(staging.outDir, known, context.signal, result.fileHashes) };
      });

      // The converted folder goes to disk while validation reads it (I/O beside CPU work): a model is published
      // only once every byte of it is durable, and with validation on this costs almost no extra time.
      durable = syncTree(staging.outDir, context.signal);
      durable.catch(() => {}); // awaited before the commit; an early failure must not be an unhandled rejection

      const report = new ValidationReport(context.reporter);
      if (options.skipValidation) {
        context.reporter.emit({ type: 'stage', stage: 'validate', status: 'skipped', detail: '--skip-validation' });
        context.reporter.warn('Validation skipped (--skip-validation): the model is registered unchecked, and its metadata says so.');
      } else {
        await this.stage('validate', context, async () => {
          await this.hooks.validate.promise(
            {
              modelDir: staging.outDir,
              mode: 'import',
              config: plan.config,
              claim: plan.claim,
              expectedFiles: inventory.files,
              options,
              reporter: context.reporter,
              signal: context.signal,
            },
            report,
          );
          context.reporter.emit({ type: 'validation', findings: report.findings });
          assertPassed(report);
        });
      }

      const entry: ModelEntry = {
        model_name: plan.modelName,
        model_id: plan.modelId,
        source: plan.source,
        architecture_type: plan.claim.architectureType,
        created_at: new Date().toISOString(),
        license: {
          id: plan.license?.id ?? null,
          name: plan.license?.name ?? null,
          link: plan.license?.link ?? null,
          acknowledged_at: plan.licenseAcknowledgedAt ?? null,
        },
        model_size: converted.parameterCount,
        file_size: inventory.bytesOnDisk,
        path: plan.modelName,
        files: inventory.files,
        provenance: {
          revision: plan.revision ?? null,
          commit: plan.commit ?? null,
          architecture: plan.claim.architecture,
          adapter: plan.claim.adapter,
          source_files: fetched.files,
        },
        conversion: { dtype: converted.dtype, components: converted.components, details: converted.details },
        validation: { skipped: options.skipValidation, findings: report.findings, figures: report.figures },
      };

      return await this.stage('register', context, async () => {
        const final = await this.hooks.register.promise(entry, { ...context, plan });
        await durable; // outside the registry lock: waiting for the disk must not hold up other imports
        context.signal.throwIfAborted();
        return await this.commit(final, staging, registry, context, replaceExisting);
      });
    } finally {
      await durable?.catch(() => {}); // files still being synced are closed before their folder is removed
      await staging.remove();
    }
  }

  /** Re-runs the validate stage on a registered model. */
  async verifyModel(name: string, io: KernelIo & { options: ImportOptions }): Promise<{ entry: ModelEntry; report: ValidationReport }> {
    const registry = new Registry(io.options.modelsDir);
    const data = await registry.read();
    const key = findName(name, Object.keys(data.models));
    if (!key) throw modelNotFound(name, io.options.modelsDir);
    const entry = data.models[key];
    const modelDir = await entryFolder(io.options.modelsDir, entry, key);
    const config = JSON.parse(await fs.readFile(path.join(modelDir, 'config.json'), 'utf8')) as ModelConfig;
    const claim = this.claim(config);
    const report = new ValidationReport(io.reporter);
    await this.hooks.validate.promise(
      { modelDir, mode: 'verify', config, claim, expectedFiles: entry.files ?? [], options: io.options, reporter: io.reporter, signal: io.signal },
      report,
    );
    return { entry, report };
  }

  private async stage<T>(stage: StageName, context: StageContext, work: () => Promise<T>): Promise<T> {
    context.signal.throwIfAborted();
    context.reporter.emit({ type: 'stage', stage, status: 'start' });
    try {
      const result = await work();
      if (stage !== 'register') context.signal.throwIfAborted(); // once register's work returned, the model is committed
      context.reporter.emit({ type: 'stage', stage, status: 'done' });
      return result;
    } catch (error) {
      context.reporter.emit({ type: 'stage', stage, status: 'failed' });
      if (context.signal.aborted || isAbortError(error)) throw interrupted(context.signal, error);
      throw error;
    }
  }

  /** The one place a model becomes visible: under the registry lock, one rename, then the registry entry. */
  private async commit(entry: ModelEntry, staging: Staging, registry: Registry, context: StageContext, replace: boolean): Promise<ModelEntry> {
    return registry.update(async (data) => {
      const taken = Object.keys(data.models);
      let name = entry.model_name;
      const clash = findName(name, taken);
      if (clash && !replace) {
        // Another import registered the name while this one ran.
        if (context.options.onDuplicate === 'cancel') {
          throw new ModelImportError('CANCELLED', `A model named "${clash}" was registered while this import ran.`, {
            hint: 'Run again with --on-duplicate overwrite or rename, or choose a name with --name.',
          });
        }
        name = nextFreeName(name, taken);
        context.reporter.warn(`The name "${clash}" was taken while importing; registered as "${name}".`);
      }
      const final: ModelEntry = { ...entry, model_name: name, path: name };
      await writeMetadata(staging.outDir, final);
      // The new name's folder and the staged output: inside the models folder, no link on the way.
      const target = await assertInside(registry.modelsDir, path.join(registry.modelsDir, name));
      await assertInside(registry.modelsDir, staging.outDir);
      const existingFolder = await fs.lstat(target).catch(() => undefined);
      if (existingFolder) {
        if (!(clash && replace)) {
          throw new ModelImportError('REGISTRY_CORRUPT', `The folder ${target} exists but is not in the registry.`, {
            hint: 'Move it aside or remove it, then run the import again.',
          });
        }
        await fs.rename(target, staging.trashPath(name));
      }
      await fs.rename(staging.outDir, target);
      await syncPath(registry.modelsDir); // the rename reaches the disk before the registry entry that names it
      if (clash && replace && clash !== name) delete data.models[clash];
      data.models[name] = final;
      return final;
    });
  }
}
