/** validation_scope: what the entry says was validated, from the conversion's parts and the validation outcome. */
import { describe, expect, it } from 'vitest';
import type { ArchitectureClaim, Finding, ModelEntry, RegisterContext } from '../../../../src/index.js';
import { withValidationScope } from './validation-scope.js';

const PARTS = {
  text_decoder: { tensors: 55, parameters: 59280 },
  kept_not_validated: [{ part: 'MTP head', prefix: 'mtp.', tensors: 7, parameters: 14464, bytes: 'as published' }],
};

function entry(findings: Array<[string, Finding['status']]>, skipped = false, parts: unknown = PARTS): ModelEntry {
  return {
    conversion: { dtype: 'bf16', components: [], details: parts === null ? {} : { parts } },
    validation: { skipped, findings: findings.map(([check, status]) => ({ validator: 'v', check, status })), figures: {} },
  } as unknown as ModelEntry;
}

const context = (validation: boolean) => ({ plan: { claim: { validation: validation ? { tolerance: 1e-3, onnxGraph: 'onnx/model.onnx', maxReferenceParameters: 1 } : undefined } as unknown as ArchitectureClaim } }) as unknown as RegisterContext;

describe('withValidationScope', () => {
  it('lists the text decoder as validated with the forward checks that passed (integrity checks and skips left out)', () => {
    const scoped = withValidationScope(entry([['files', 'pass'], ['load', 'pass'], ['logits', 'pass'], ['reference', 'pass'], ['kv-cache', 'pass'], ['transformers.js', 'skip']]), context(true));
    expect(scoped.validation_scope).toEqual({
      validated: [{ part: 'text decoder', tensors: 55, parameters: 59280, checks: ['logits', 'reference', 'kv-cache'] }],
      kept_not_validated: [{ ...PARTS.kept_not_validated[0], why: 'not part of the text decoder: kept byte for byte, never computed' }],
    });
  });

  it('says why the text decoder was not validated: skipped, no graph, or no forward check passed', () => {
    const why = (e: ModelEntry, c: RegisterContext) => (withValidationScope(e, c).validation_scope as { validated: unknown[]; kept_not_validated: Array<{ why: string }> });
    expect(why(entry([], true), context(true)).kept_not_validated[0]!.why).toBe('validation skipped (--skip-validation)');
    expect(why(entry([['files', 'pass']]), context(false)).kept_not_validated[0]!.why).toBe('no forward graph for this model');
    const none = why(entry([['files', 'pass'], ['reference', 'skip']]), context(true));
    expect(none.validated).toEqual([]);
    expect(none.kept_not_validated[0]!.why).toBe('no forward check passed');
  });

  it('leaves entries without kept parts alone', () => {
    const plain = entry([['reference', 'pass']], false, null);
    expect(withValidationScope(plain, context(true))).toBe(plain);
  });
});
