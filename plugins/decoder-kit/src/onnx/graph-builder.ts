/**
 * A small ONNX graph writer over onnx-proto: nodes with generated names, deduplicated small constants, and
 * external initializers (weights stay in their files). It knows nothing about Qwen; build-decoder-graph.ts
 * reads as the model's math because the bookkeeping lives here.
 *
 * Body graphs (If branches, Scan and Loop bodies) are builders too: toGraph() hands their GraphProto to the
 * enclosing builder's attachGraph(), and with `constantsIn` their constants live once in the outermost graph
 * (ONNX bodies read outer-scope values), so eighteen Gated DeltaNet layers do not carry eighteen copies of the
 * same 64×64 masks. The whole model is encoded once (measured: encode, decode and re-encode to attach the
 * bodies, with every body's own masks, took most of the Qwen3.5-0.8B conversion).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;
type GraphProto = onnxProto.onnx.IGraphProto;

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

export interface GraphBuilderOptions {
  /** Put small constants in this (enclosing) builder's graph, shared with every other body that uses them. */
  constantsIn?: GraphBuilder;
  /** A front for this builder's graph (see encodeWithFront): names stay unique across both. */
  frontOf?: GraphBuilder;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  /** The node producing each first output, for attachGraph. */
  private readonly producers = new Map<string, NodeProto>();
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly used: Set<string>;
  private counter = 0;
  /** The encoded nodes, initializers, inputs and outputs, once (encodeWithFront reuses them for every front). */
  private sharedBytes?: Uint8Array;

  constructor(private readonly options: GraphBuilderOptions = {}) {
    this.used = options.frontOf ? options.frontOf.used : new Set<string>();
  }

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
    const node: NodeProto = {
      opType: op,
      name: this.name(`n_${base}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attributes).map(([key, value]) => toAttribute(key, value)),
    };
    this.nodes.push(node);
    if (outs.length > 0) this.producers.set(outs[0], node);
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
    // Keyed by the numbers (axes and shapes are asked for hundreds of times): bytes are made only for a new one.
    return this.constant('i64', DataType.INT64, dims, values.join(','), () => new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer));
  }

  /** A small float32 constant initializer, shared by every use of the same values. */
  float32s(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const bytes = new Uint8Array(Float32Array.from(values).buffer);
    // Keyed by the bytes themselves (latin1: one char per byte, no number formatting of 4096-entry masks).
    return this.constant('f32', DataType.FLOAT, dims, Buffer.from(bytes.buffer).toString('latin1'), () => bytes);
  }

  /** Gives the node whose first output is `output` a graph-valued attribute (If branches, Scan/Loop bodies). */
  attachGraph(output: string, attribute: string, graph: GraphProto): void {
    const node = this.producers.get(output);
    if (!node) throw new Error(`no node produces ${output}; cannot attach its ${attribute} graph`);
    node.attribute = [...(node.attribute ?? []), { name: attribute, type: onnx.AttributeProto.AttributeType.GRAPH, g: graph }];
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

  /** The graph as a GraphProto (a body to attach, or the model's graph). */
  toGraph(name: string): GraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }

  /**
   * The serialized ModelProto whose graph is `front`'s nodes, inputs and initializers followed by this builder's:
   * one body, several ways in (input_ids vs inputs_embeds). A protobuf message may arrive in pieces, repeated
   * fields appending in order, so the body is encoded once and each front's bytes go before it: the front's
   * nodes and inputs come first, as topological order and the input order want. The front must be made with
   * `frontOf: this` and define the names the body reads.
   */
  encodeWithFront(options: { opset: number; irVersion: number; producer: string; graphName: string; docString?: string }, front: GraphBuilder): Uint8Array {
    this.sharedBytes ??= onnx.GraphProto.encode({ node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs }).finish();
    const head = onnx.GraphProto.encode(front.toGraph(options.graphName)).finish();
    const graph = new Uint8Array(head.length + this.sharedBytes.length);
    graph.set(head);
    graph.set(this.sharedBytes, head.length);
    // The header fields, then the graph field written by hand from its bytes (tag, length, bytes).
    return onnx.ModelProto.encode(modelHeader(options)).uint32(GRAPH_FIELD_TAG).bytes(graph).finish();
  }

  /** The serialized ModelProto. */
  encode(options: { opset: number; irVersion: number; producer: string; graphName: string; docString?: string }): Uint8Array {
    return onnx.ModelProto.encode({ ...modelHeader(options), graph: this.toGraph(options.graphName) }).finish();
  }

  private constant(prefix: string, type: ElemType, dims: number[], key: string, bytes: () => Uint8Array): string {
    if (this.options.constantsIn) return this.options.constantsIn.constant(prefix, type, dims, key, bytes);
    const cacheKey = `${prefix}:${dims.join('x')}:${key}`;
    const known = this.constants.get(cacheKey);
    if (known) return known;
    const name = this.name(`${prefix}_c${this.constants.size}`);
    this.initializers.push({ name, dataType: type, dims, rawData: bytes() });
    this.constants.set(cacheKey, name);
    return name;
  }
}

/** ModelProto.graph is field 7, length-delimited (wire type 2): (7 << 3) | 2. */
const GRAPH_FIELD_TAG = (7 << 3) | 2;

function modelHeader(options: { opset: number; irVersion: number; producer: string; docString?: string }): onnxProto.onnx.IModelProto {
  return {
    irVersion: options.irVersion,
    opsetImport: [{ domain: '', version: options.opset }],
    producerName: options.producer,
    producerVersion: '1',
    docString: options.docString ?? '',
  };
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
