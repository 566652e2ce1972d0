/**
 * The checkpoint's tensors against what the config says (reference/qwen-family.md §2): every expected tensor
 * present with the expected shape, float dtypes only, nothing unexplained. Known buffers (rotary inv_freq) are
 * warnings; a tied lm_head copy is flagged for a byte comparison the converter does (it needs the data).
 */
import { ModelImportError } from '../../../../src/index.js';
import type { DecoderFamily } from '../family/decoder-family.js';
import type { DecoderDims } from '../family/decoder-dims.js';
import type { TensorSpec } from './tensor-spec.js';

/** What the inventory needs of a checkpoint tensor (a safetensors header entry or a pickled tensor). */
export interface CheckpointTensor {
  name: string;
  dtype: string;
  shape: readonly number[];
}

export interface Inventory {
  /** The model's tensors, as found (layout chosen for MoE experts), lm_head included when untied. */
  keep: string[];
  /** Harmless extras (buffers) present in the checkpoint; dropped when weights are rewritten. */
  extras: string[];
  /**
   * Tensors of the family's kept parts (vision tower, MTP head) found in the checkpoint, per part: they are in
   * `keep` too (written like every other tensor) but are not part of the text decoder.
   */
  parts: { part: string; prefix: string; tensors: string[] }[];
  /** lm_head.weight is present although the embeddings are tied: compare its bytes with embed_tokens. */
  tiedCopy: boolean;
  /** The dtype most of the model's bytes are in (BF16, F16, F32). */
  dtype: string;
  /** Every float dtype seen among the kept tensors. */
  dtypes: string[];
  warnings: string[];
}

const FLOAT = new Set(['BF16', 'F16', 'F32']);
const BYTES: Record<string, number> = { BF16: 2, F16: 2, F32: 4 };
const LM_HEAD = 'lm_head.weight';

export function checkInventory(family: DecoderFamily, dims: DecoderDims, tensors: readonly CheckpointTensor[]): Inventory {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const problems: string[] = [];
  const keep: string[] = [];
  const claimed = new Set<string>();
  const warnings: string[] = [];

  for (const group of family.tensorGroups(dims)) {
    const layout = pickLayout(group.layouts, byName, group.what, problems);
    if (!layout) continue;
    for (const spec of layout) {
      claimed.add(spec.name);
      if (checkOne(spec, byName.get(spec.name), problems)) keep.push(spec.name);
    }
  }

  const head = family.lmHead(dims);
  claimed.add(head.name);
  const headTensor = byName.get(LM_HEAD);
  let tiedCopy = false;
  if (!dims.tied) {
    if (checkOne(head, headTensor, problems, 'the config says tie_word_embeddings false, so the output matrix is required')) {
      keep.push(head.name);
    }
  } else if (headTensor) {
    tiedCopy = checkOne(head, headTensor, problems);
  }

  const extras: string[] = [];
  const unknown: string[] = [];
  const parts = family.keptParts.map((p) => ({ part: p.part, prefix: p.prefix, tensors: [] as string[] }));
  for (const tensor of tensors) {
    if (claimed.has(tensor.name)) continue;
    const part = parts.find((p) => tensor.name.startsWith(p.prefix));
    if (part) {
      // Kept as published (float dtypes only, so a --dtype rewrite can convert them with the rest).
      if (checkOne({ name: tensor.name, shape: tensor.shape }, tensor, problems)) {
        part.tensors.push(tensor.name);
        keep.push(tensor.name);
      }
      continue;
    }
    (family.isHarmlessExtra(tensor.name) ? extras : unknown).push(tensor.name);
  }
  for (const name of unknown) problems.push(`unexpected tensor ${name} (${describe(byName.get(name)!)}): not part of ${family.architecture} with this config`);
  if (extras.length > 0) {
    warnings.push(`${extras.length} known buffer tensor(s) carry no parameters and are not part of the model (e.g. ${extras[0]})`);
  }

  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    throw new ModelImportError('CONVERSION_FAILED', `${family.architecture} checkpoint does not match config.json: ${problems[0]}${more}`, {
      hint: 'The weights and config.json disagree; download both again from the same revision.',
      details: { problems: problems.slice(0, 50) },
    });
  }

  const bytesByDtype = new Map<string, number>();
  for (const name of keep) {
    const t = byName.get(name)!;
    bytesByDtype.set(t.dtype, (bytesByDtype.get(t.dtype) ?? 0) + count(t.shape) * BYTES[t.dtype]);
  }
  const dtypes = [...bytesByDtype.keys()].sort();
  const dtype = [...bytesByDtype.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
  if (dtypes.length > 1) {
    const counts = dtypes.map((d) => `${keep.filter((n) => byName.get(n)!.dtype === d).length} ${d}`).join(', ');
    warnings.push(`the checkpoint mixes dtypes (${counts} tensors); ${dtype} holds most bytes`);
  }
  return { keep, extras, parts: parts.filter((p) => p.tensors.length > 0), tiedCopy, dtype, dtypes, warnings };
}

/** For MoE experts: the one layout the checkpoint uses (by any of its names being present). */
function pickLayout(
  layouts: TensorSpec[][],
  byName: ReadonlyMap<string, CheckpointTensor>,
  what: string,
  problems: string[],
): TensorSpec[] | undefined {
  if (layouts.length === 1) return layouts[0];
  const used = layouts.filter((layout) => layout.some((spec) => byName.has(spec.name)));
  if (used.length > 1) {
    problems.push(`${what} mix layouts (${used.map((l) => l[0].name).join(' and ')} are both present)`);
    return undefined;
  }
  return used[0] ?? layouts[0];
}

function checkOne(spec: TensorSpec, tensor: CheckpointTensor | undefined, problems: string[], why?: string): boolean {
  if (!tensor) {
    problems.push(`missing tensor ${spec.name} (expected shape [${spec.shape.join(', ')}]${why ? `; ${why}` : ''})`);
    return false;
  }
  if (!sameShape(spec.shape, tensor.shape)) {
    problems.push(`tensor ${spec.name} has shape [${tensor.shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    return false;
  }
  if (!FLOAT.has(tensor.dtype)) {
    problems.push(`tensor ${spec.name} is ${tensor.dtype}, expected BF16, F16 or F32 (a quantized or foreign checkpoint?)`);
    return false;
  }
  return true;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function count(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function describe(t: CheckpointTensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}
