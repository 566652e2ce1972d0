/**
 * A small ONNX graph writer over onnx-proto: nodes with generated names, deduplicated small constants, and
 * external initializers (weights stay in their files). It knows nothing about Qwen; build-decoder-graph.ts
 * reads as the model's math because the bookkeeping lives here.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;
export type ElemType = onnxProto.onnx.TensorProto.DataType;

/** Attribute values: integers become INT, arrays INTS, strings STRING; floats must be wrapped as { float }. */
export type AttributeValue = number | number[] | string | { float: number };

export interface ExternalRange {
  /** Path relative to the model file (ORT refuses `..`, absolute paths and symlinks out of the folder). */
  location: string;
  offset: number;
  length: number;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly used = new Set<string>();
  private counter = 0;

  /** A fresh value name starting with `hint`. */
  name(hint: string): string {
    let candidate = hint;
    while (this.used.has(candidate)) candidate = `${hint}_${++this.counter}`;
    this.used.add(candidate);
    return candidate;
  }

  /** Adds a node; returns its output names (fresh unless given). */
  node(op: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs: number | string[] = 1, hint?: string): string[] {
    const base = hint ?? op.toLowerCase();
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => this.name(outputs > 1 ? `${base}_${i}` : base)) : outputs;
    for (const out of outs) this.used.add(out);
    this.nodes.push({
      opType: op,
      name: this.name(`n_${base}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attributes).map(([key, value]) => toAttribute(key, value)),
    });
    return outs;
  }

  /** A node with one output. */
  op(op: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, hint?: string): string {
    return this.node(op, inputs, attributes, 1, hint)[0];
  }

  /** A node whose single output gets exactly this name (graph outputs). */
  opNamed(op: string, inputs: string[], output: string, attributes: Record<string, AttributeValue> = {}): string {
    return this.node(op, inputs, attributes, [output])[0];
  }

  /** A small int64 constant initializer, shared by every use of the same values. */
  int64s(values: readonly number[], dims: number[] = [values.length]): string {
    const bytes = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    return this.constant('i64', DataType.INT64, dims, bytes, values.join('_'));
  }

  /** A small float32 constant initializer, shared by every use of the same values. */
  float32s(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const array = Float32Array.from(values);
    return this.constant('f32', DataType.FLOAT, dims, new Uint8Array(array.buffer), Array.from(array).join('_'));
  }

  /** A weight read from an external file at a byte range, never copied into the graph. */
  external(hint: string, type: ElemType, dims: number[], range: ExternalRange): string {
    const name = this.name(hint);
    this.initializers.push({
      name,
      dataType: type,
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: range.location },
        { key: 'offset', value: String(range.offset) },
        { key: 'length', value: String(range.length) },
      ],
    });
    return name;
  }

  input(name: string, type: ElemType, shape: Array<number | string>): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Array<number | string>): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The serialized ModelProto. */
  encode(options: { opset: number; irVersion: number; producer: string; graphName: string; docString?: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: options.irVersion,
      opsetImport: [{ domain: '', version: options.opset }],
      producerName: options.producer,
      producerVersion: '1',
      docString: options.docString ?? '',
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private constant(prefix: string, type: ElemType, dims: number[], bytes: Uint8Array, key: string): string {
    const cacheKey = `${prefix}:${dims.join('x')}:${key}`;
    const known = this.constants.get(cacheKey);
    if (known) return known;
    const name = this.name(`${prefix}_c${this.constants.size}`);
    this.initializers.push({ name, dataType: type, dims, rawData: bytes });
    this.constants.set(cacheKey, name);
    return name;
  }
}

function toAttribute(name: string, value: AttributeValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: wrap float values as { float }`);
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  return { name, type: T.FLOAT, f: value.float };
}

function valueInfo(name: string, type: ElemType, shape: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: type,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
