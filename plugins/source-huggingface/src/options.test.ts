import { describe, expect, it } from 'vitest';
import { isModelImportError } from '../../../src/index.js';
import { sourceHuggingface } from '../index.js';
import { effectiveSettings } from './options.js';

describe('options', () => {
  it('defaults; settings.stallTimeoutMs / retryBudgetMs apply unless the plugin option says otherwise', () => {
    expect(effectiveSettings({}, { settings: {} })).toMatchObject({ connections: 8, chunkSize: 32 << 20, stallTimeoutMs: 30_000, retry: { budgetMs: 120_000 } });
    expect(effectiveSettings({}, { settings: { stallTimeoutMs: 5000, retryBudgetMs: 9000 } })).toMatchObject({ stallTimeoutMs: 5000, retry: { budgetMs: 9000 } });
    expect(effectiveSettings({ stallTimeoutMs: 100 }, { settings: { stallTimeoutMs: 5000 } }).stallTimeoutMs).toBe(100);
  });

  it('the factory refuses nonsense with CONFIG_INVALID naming the option', () => {
    for (const bad of [{ connections: 0 }, { connections: 65 }, { chunkSize: 1.5 }, { stallTimeoutMs: -1 }, { retryBudgetMs: Number.NaN }]) {
      try {
        sourceHuggingface(bad);
        throw new Error(`accepted ${JSON.stringify(bad)}`);
      } catch (e) {
        expect(isModelImportError(e) && e.code).toBe('CONFIG_INVALID');
        expect((e as Error).message).toContain(Object.keys(bad)[0]);
      }
    }
    const plugin = sourceHuggingface({ connections: 4 });
    expect(plugin).toMatchObject({ name: 'model-import/source-huggingface', kind: 'source' });
  });
});
