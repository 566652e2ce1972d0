/**
 * metadata.json / registry entry field `validation_scope`, for checkpoints whose family keeps parts beside the text
 * decoder (KeptPart: a vision tower, an MTP head): which tensors the forward checks computed and which were only
 * kept. The conversion records the parts (conversion.details.parts); whether the text decoder was validated
 * depends on what happened after it, so the register tap decides from the entry: a forward graph offered
 * (claim.validation) and validation not skipped, with at least one forward check passed.
 */
import type { ModelEntry, RegisterContext } from '../../../../src/index.js';

interface PartRecord {
  part: string;
  prefix: string;
  tensors: number;
  parameters: number;
  bytes: string;
}

interface PartsDetail {
  text_decoder: { tensors: number; parameters: number };
  kept_not_validated: PartRecord[];
}

/** The checks that compute the model (the integrity checks — files, sizes, hashes — cover every file anyway). */
const FORWARD_CHECKS = new Set(['logits', 'reference', 'kv-cache', 'layer sample', 'transformers.js']);

export function withValidationScope(entry: ModelEntry, context: RegisterContext): ModelEntry {
  const parts = (entry.conversion.details as { parts?: PartsDetail } | undefined)?.parts;
  if (!parts) return entry;
  const passed = entry.validation.skipped ? [] : [...new Set(entry.validation.findings
    .filter((f) => f.status === 'pass' && FORWARD_CHECKS.has(f.check)).map((f) => f.check))];
  const decoder = { part: 'text decoder', tensors: parts.text_decoder.tensors, parameters: parts.text_decoder.parameters };
  const validated = context.plan.claim.validation !== undefined && passed.length > 0;
  const why = entry.validation.skipped ? 'validation skipped (--skip-validation)'
    : context.plan.claim.validation === undefined ? 'no forward graph for this model' : 'no forward check passed';
  return {
    ...entry,
    validation_scope: {
      validated: validated ? [{ ...decoder, checks: passed }] : [],
      kept_not_validated: [
        ...(validated ? [] : [{ ...decoder, why }]),
        ...parts.kept_not_validated.map((p) => ({ ...p, why: 'not part of the text decoder: kept byte for byte, never computed' })),
      ],
    },
  };
}
