import { describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../kernel/types.js';
import { summary } from './show.js';

describe('show summary', () => {
  it('prints the figures of a well-formed entry', () => {
    const entry = {
      model_name: 'qwen', model_id: 'Qwen/Qwen2.5-0.5B', architecture_type: 'qwen2', model_size: 494032768, file_size: 988_100_000,
      files: [{}, {}], created_at: new Date(0).toISOString(), license: { id: 'apache-2.0' },
      provenance: { architecture: 'Qwen2ForCausalLM', commit: '060db6499f32faf8b98477b0a26969ef7d8b9987', revision: 'main' },
      validation: { skipped: false, findings: [{ status: 'pass' }, { status: 'warn' }] },
    } as unknown as ModelEntry;
    const text = summary(entry, '/m/qwen', 10_000);
    expect(text).toMatch(/parameters\s+494,032,768/);
    expect(text).toMatch(/size\s+988\.1 MB in 2 files/);
    expect(text).toMatch(/revision\s+main \(060db6499f32\)/);
    expect(text).toMatch(/validation\s+1 check passed, 1 warnings/);
  });

  it('shows "?" for missing or wrongly typed fields of a damaged entry instead of crashing', () => {
    const entry = { model_name: 7, provenance: { commit: 12 }, validation: { findings: 'x' }, files: 'ab', license: null } as unknown as ModelEntry;
    const text = summary(entry, '/m/x');
    expect(text).toMatch(/name\s+\?/);
    expect(text).toMatch(/parameters\s+\?/);
    expect(text).toMatch(/size\s+\? in 0 files/);
    expect(text).toMatch(/license\s+not declared/);
  });
});
