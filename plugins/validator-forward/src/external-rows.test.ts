import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { externalRows } from './external-rows.js';

const { onnx } = onnxProto;
const table = (extra: Partial<onnxProto.onnx.ITensorProto> = {}) =>
  onnx.TensorProto.create({
    name: 'embed',
    dataType: 16, // bfloat16: 2 bytes
    dims: [10, 4],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: 'location', value: 'model.safetensors' }, { key: 'offset', value: '1000' }, { key: 'length', value: '80' }],
    ...extra,
  });
const range = (t: onnxProto.onnx.ITensorProto) => Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));

describe('externalRows', () => {
  it('makes one initializer per run of consecutive rows over its byte range, concatenated in row order', () => {
    const picked = externalRows(table(), [1, 2, 3, 7], 'embed#rows')!;
    expect(picked.initializers.map((t) => [t.name, t.dims, range(t)])).toEqual([
      ['embed#rows.rows_1', [3, 4], { location: 'model.safetensors', offset: '1008', length: '24' }],
      ['embed#rows.rows_7', [1, 4], { location: 'model.safetensors', offset: '1056', length: '8' }],
    ]);
    expect(picked.nodes.map((n) => [n.opType, n.input, n.output])).toEqual([['Concat', ['embed#rows.rows_1', 'embed#rows.rows_7'], ['embed#rows']]]);
  });

  it('names the single run after the output when the rows are consecutive', () => {
    const picked = externalRows(table(), [4, 5], 'out')!;
    expect(picked.nodes).toEqual([]);
    expect(picked.initializers.map((t) => t.name)).toEqual(['out']);
  });

  it('declines rows out of range, unsorted or repeated, and tables that are not plain external data', () => {
    for (const rows of [[10], [-1], [3, 2], [2, 2], [1.5]]) expect(externalRows(table(), rows, 'x'), String(rows)).toBeUndefined();
    expect(externalRows(table({ dataLocation: onnx.TensorProto.DataLocation.DEFAULT, externalData: [] }), [1], 'x')).toBeUndefined();
    expect(externalRows(table({ dims: [20, 4] }), [1], 'x')).toBeUndefined(); // length does not match the shape
  });
});
