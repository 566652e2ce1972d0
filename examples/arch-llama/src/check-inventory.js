// @ts-check
/**
 * The checkpoint's tensors against what config.json says: every expected tensor present with its shape and a
 * float dtype, nothing unexplained. Explained extras are a tied lm_head copy and rotary inv_freq buffers: both
 * stay in the linked files (nothing is rewritten), neither is counted as parameters.
 */
import { ModelImportError } from 'model-import';
import { ARCHITECTURE } from './names.js';
import { EMBEDDINGS, LM_HEAD, bodyTensors, elementCount, isHarmlessBuffer, lmHead } from './llama-tensors.js';

/** @import { LlamaDims } from './read-llama-config.js' */
/** @import { CheckpointTensor } from './read-checkpoint.js' */
/** @import { TensorSpec } from './llama-tensors.js' */

/**
 * @typedef {object} Inventory
 * @property {CheckpointTensor[]} kept   the model's tensors (lm_head included when untied)
 * @property {string[]} extras          explained tensors that are not parameters (tied lm_head copy, buffers)
 * @property {string} dtype             the dtype holding most of the kept bytes (BF16, F16, F32)
 * @property {string[]} dtypes          every dtype among the kept tensors
 * @property {string[]} warnings
 */

const BYTES = /** @type {Record<string, number>} */ ({ BF16: 2, F16: 2, F32: 4 });

/**
 * @param {LlamaDims} dims
 * @param {readonly CheckpointTensor[]} tensors
 * @returns {Inventory}
 */
export function checkInventory(dims, tensors) {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  /** @type {string[]} */
  const problems = [];
  /** @type {CheckpointTensor[]} */
  const kept = [];
  /** @type {string[]} */
  const extras = [];
  /** @type {string[]} */
  const warnings = [];
  const claimed = new Set();

  /**
   * @param {TensorSpec} spec
   * @param {string} [why]
   */
  const expect = (spec, why) => {
    claimed.add(spec.name);
    const tensor = byName.get(spec.name);
    if (checkOne(spec, tensor, problems, why) && tensor) kept.push(tensor);
  };
  for (const spec of bodyTensors(dims)) expect(spec);
  if (!dims.tied) {
    expect(lmHead(dims), 'tie_word_embeddings is false, so the output matrix is required');
  } else if (byName.has(LM_HEAD)) {
    claimed.add(LM_HEAD);
    if (checkOne(lmHead(dims), byName.get(LM_HEAD), problems)) {
      extras.push(LM_HEAD);
      warnings.push(`${LM_HEAD} is present although tie_word_embeddings is true: runtimes use ${EMBEDDINGS}; the copy is not counted`);
    }
  }

  const buffers = [];
  for (const tensor of tensors) {
    if (claimed.has(tensor.name)) continue;
    if (isHarmlessBuffer(tensor.name)) buffers.push(tensor.name);
    else problems.push(`unexpected tensor ${tensor.name} (${tensor.dtype} [${tensor.shape.join(', ')}]): not part of ${ARCHITECTURE} with this config`);
  }
  if (buffers.length > 0) {
    extras.push(...buffers);
    warnings.push(`${buffers.length} rotary inv_freq buffer(s) carry no parameters (e.g. ${buffers[0]}); left in place, not counted`);
  }

  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    throw new ModelImportError('CONVERSION_FAILED', `${ARCHITECTURE} checkpoint does not match config.json: ${problems[0]}${more}`, {
      hint: 'The weights and config.json disagree; download both again from the same revision.',
      details: { problems: problems.slice(0, 50) },
    });
  }

  /** @type {Map<string, number>} */
  const bytesByDtype = new Map();
  for (const t of kept) bytesByDtype.set(t.dtype, (bytesByDtype.get(t.dtype) ?? 0) + elementCount(t.shape) * BYTES[t.dtype]);
  const dtypes = [...bytesByDtype.keys()].sort();
  const dtype = [...bytesByDtype.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
  if (dtypes.length > 1) warnings.push(`the checkpoint mixes dtypes (${dtypes.join(', ')}); ${dtype} holds most bytes`);
  return { kept, extras, dtype, dtypes, warnings };
}

/**
 * @param {TensorSpec} spec
 * @param {CheckpointTensor | undefined} tensor
 * @param {string[]} problems
 * @param {string} [why]
 */
function checkOne(spec, tensor, problems, why) {
  if (!tensor) {
    problems.push(`missing tensor ${spec.name} (expected shape [${spec.shape.join(', ')}]${why ? `; ${why}` : ''})`);
    return false;
  }
  if (tensor.shape.length !== spec.shape.length || tensor.shape.some((size, i) => size !== spec.shape[i])) {
    problems.push(`tensor ${spec.name} has shape [${tensor.shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    return false;
  }
  if (!(tensor.dtype in BYTES)) {
    problems.push(`tensor ${spec.name} is ${tensor.dtype}, expected BF16, F16 or F32 (a quantized or foreign checkpoint?)`);
    return false;
  }
  return true;
}
