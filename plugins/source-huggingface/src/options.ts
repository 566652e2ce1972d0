/**
 * The plugin's options and their defaults. Numbers may also come from the config file's settings
 * (stallTimeoutMs, retryBudgetMs); the plugin option wins.
 */
import { ModelImportError, type StageContext } from '../../../src/index.js';
import type { RetryPolicy } from '../../../src/index.js';

export interface SourceHuggingfaceOptions {
  /** Hub URL; else settings.hubEndpoint, else HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** A token given in the config (after --token, before HF_TOKEN). Prefer HF_TOKEN or the token file. */
  token?: string;
  /** Connections open at once, over all files (default 8). */
  connections?: number;
  /** Files larger than this are fetched as parallel ranges of this size (default 32 MiB). */
  chunkSize?: number;
  /** A request that receives no byte for this long is aborted and retried (default 30 s). */
  stallTimeoutMs?: number;
  /** A request that keeps failing without progress for this long ends the import (default 120 s). */
  retryBudgetMs?: number;
  /** First backoff delay; it doubles per failed attempt, with jitter (default 500 ms). */
  retryBaseDelayMs?: number;
  /** Longest backoff delay (default 10 s). */
  retryMaxDelayMs?: number;
  /** Largest config.json accepted (default 5 MiB). */
  configMaxBytes?: number;
}

export interface EffectiveSettings {
  connections: number;
  chunkSize: number;
  stallTimeoutMs: number;
  retry: RetryPolicy;
  configMaxBytes: number;
  userAgent: string;
}

const DEFAULTS = {
  connections: 8,
  chunkSize: 32 * 2 ** 20,
  stallTimeoutMs: 30_000,
  retryBudgetMs: 120_000,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 10_000,
  configMaxBytes: 5 * 2 ** 20,
};

type NumericOption = keyof typeof DEFAULTS;

/** Rejects nonsense at construction time, where the config file author will see it. */
export function checkOptions(options: SourceHuggingfaceOptions): void {
  for (const key of Object.keys(DEFAULTS) as NumericOption[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === 'retryBudgetMs' || key === 'retryBaseDelayMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new ModelImportError('CONFIG_INVALID', `source-huggingface option ${key} must be an integer >= ${min}, got ${JSON.stringify(value)}.`, {
        hint: `Fix ${key} in model-import.config.ts, or leave it out for the default (${DEFAULTS[key]}).`,
      });
    }
  }
  if (options.connections !== undefined && options.connections > 64) {
    throw new ModelImportError('CONFIG_INVALID', `source-huggingface option connections must be at most 64, got ${options.connections}.`, {
      hint: 'A handful of connections saturates a link; the hub may rate-limit more.',
    });
  }
}

export function effectiveSettings(options: SourceHuggingfaceOptions, context: Pick<StageContext, 'settings'>): EffectiveSettings {
  const fromSettings = (key: string): number | undefined => {
    const v = context.settings[key];
    return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
  };
  return {
    connections: options.connections ?? DEFAULTS.connections,
    chunkSize: options.chunkSize ?? DEFAULTS.chunkSize,
    stallTimeoutMs: options.stallTimeoutMs ?? fromSettings('stallTimeoutMs') ?? DEFAULTS.stallTimeoutMs,
    retry: {
      budgetMs: options.retryBudgetMs ?? fromSettings('retryBudgetMs') ?? DEFAULTS.retryBudgetMs,
      baseDelayMs: options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs,
      maxDelayMs: options.retryMaxDelayMs ?? DEFAULTS.retryMaxDelayMs,
    },
    configMaxBytes: options.configMaxBytes ?? DEFAULTS.configMaxBytes,
    userAgent: 'model-import (source-huggingface; node)',
  };
}
