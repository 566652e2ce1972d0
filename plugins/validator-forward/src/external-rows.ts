/**
 * Some rows of a weight stored as ONNX external data, without the rest: an initializer per run of consecutive
 * rows over that run's byte range of the same file, concatenated. onnxruntime loads an external initializer
 * whole, so a Gather of 15 token rows from Qwen3.5's 248,320 x 1024 bf16 embedding would hold 508 MB; over these
 * ranges it holds 15 rows. Used where the validator knows the rows before the session exists: the token ids of
 * a segmented run (segmented-decoder.ts) and the sampled vocabulary rows of the head (layer-slices.ts).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** Bytes per element of an ONNX TensorProto data type (16 = bfloat16). */
export const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

export interface ExternalRows {
  /** One initializer per run of consecutive rows (names `${output}.rows_${first}`). */
  initializers: TensorProto[];
  /** The Concat of those initializers (none when there is one run: `output` is then its initializer). */
  nodes: NodeProto[];
  /** [rows.length, ...the tensor's other dims], in the order of `rows`. */
  output: string;
}

/** Byte range of a tensor's external data, or undefined when it is not external (or not described plainly). */
export function externalRange(tensor: TensorProto): { location: string; offset: number; length: number } | undefined {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const entry = (key: string) => (tensor.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
  const location = entry('location');
  const offset = Number(entry('offset') ?? 0);
  const length = Number(entry('length'));
  if (!location || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
  return { location, offset, length };
}

/**
 * `rows` ascending and unique, each within the tensor's first dimension; undefined when the tensor is not plain
 * external data whose length matches its shape (the caller then uses the whole tensor).
 */
export function externalRows(tensor: TensorProto, rows: readonly number[], output: string): ExternalRows | undefined {
  const range = externalRange(tensor);
  const dims = (tensor.dims ?? []).map(Number);
  const elemBytes = ELEM_BYTES[tensor.dataType ?? 0];
  if (!range || dims.length < 1 || !elemBytes || rows.length === 0) return undefined;
  const rowBytes = dims.slice(1).reduce((n, d) => n * d, 1) * elemBytes;
  if (rowBytes * dims[0]! !== range.length) return undefined;
  if (rows.some((r, i) => !Number.isSafeInteger(r) || r < 0 || r >= dims[0]! || (i > 0 && r <= rows[i - 1]!))) return undefined;

  const runs: Array<{ first: number; count: number }> = [];
  for (const row of rows) {
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === row) last.count++;
    else runs.push({ first: row, count: 1 });
  }
  const initializers = runs.map(({ first, count }) =>
    onnx.TensorProto.create({
      name: runs.length === 1 ? output : `${output}.rows_${first}`,
      dataType: tensor.dataType,
      dims: [count, ...dims.slice(1)],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: range.location },
        { key: 'offset', value: String(range.offset + first * rowBytes) },
        { key: 'length', value: String(count * rowBytes) },
      ],
    }),
  );
  const nodes = runs.length === 1 ? [] : [onnx.NodeProto.create({
    opType: 'Concat',
    name: `${output}.concat`,
    input: initializers.map((t) => t.name!),
    output: [output],
    attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
  })];
  return { initializers, nodes, output };
}
