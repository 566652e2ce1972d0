/**
 * Scan/Loop/If take graph-valued attributes. The pieces build a body with an ordinary GraphBuilder (bodyGraph),
 * record "the node producing <output> gets attribute <name> = <body>" (PendingSubgraphs.add), and the caller
 * attaches the records to its builder before the one encode (attachTo). Passing the enclosing builder to
 * bodyGraph puts the body's small constants in the outermost graph, shared by every body.
 */
import onnxProto from 'onnx-proto';
import { GraphBuilder } from '../onnx/graph-builder.js';

const { onnx } = onnxProto;
type GraphProto = onnxProto.onnx.IGraphProto;

/**
 * A body graph built with the ordinary builder. `nested` collects graph attributes of the body's own nodes (a
 * Scan inside an If branch); `outer`, when given, holds the body's constants (see GraphBuilder's constantsIn).
 */
export function bodyGraph(name: string, build: (body: GraphBuilder, nested: PendingSubgraphs) => void, outer?: GraphBuilder): GraphProto {
  const body = new GraphBuilder({ constantsIn: outer });
  const nested = new PendingSubgraphs();
  build(body, nested);
  nested.attachTo(body);
  return body.toGraph(name);
}

/**
 * Prefixes every name a graph defines (inputs, initializers, node outputs) and every use of those names, also
 * inside nested graphs; names from the enclosing scope are left alone. A body built by its own GraphBuilder
 * numbers its constants from zero, so without this two bodies (or a body and the main graph) could both define
 * `i64_c0`, which onnxruntime rejects.
 */
export function prefixLocalNames(graph: GraphProto, prefix: string): GraphProto {
  const local = new Set<string>();
  for (const v of graph.input ?? []) if (v.name) local.add(v.name);
  for (const t of graph.initializer ?? []) if (t.name) local.add(t.name);
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) local.add(o);
  const rename = (name: string) => (local.has(name) ? `${prefix}${name}` : name);
  const renameUses = (g: GraphProto): void => {
    for (const n of g.node ?? []) {
      n.input = (n.input ?? []).map(rename);
      for (const a of n.attribute ?? []) if (a.g) renameUses(a.g);
    }
  };
  for (const v of graph.input ?? []) v.name = rename(v.name ?? '');
  for (const v of graph.output ?? []) v.name = rename(v.name ?? '');
  for (const t of graph.initializer ?? []) t.name = rename(t.name ?? '');
  for (const n of graph.node ?? []) {
    n.output = (n.output ?? []).map(rename);
    n.name = n.name ? `${prefix}${n.name}` : n.name;
  }
  renameUses(graph);
  return graph;
}

export class PendingSubgraphs {
  private readonly pending: Array<{ output: string; attribute: string; graph: GraphProto }> = [];

  /** The node whose first output is `output` gets `attribute` = `graph` when apply() runs. */
  add(output: string, attribute: string, graph: GraphProto): void {
    this.pending.push({ output, attribute, graph });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Puts every recorded graph attribute on its node in `builder`, before the builder encodes. */
  attachTo(builder: GraphBuilder): void {
    for (const { output, attribute, graph } of this.pending.splice(0)) builder.attachGraph(output, attribute, graph);
  }

  /**
   * The encoded model with every recorded graph attribute in place (unchanged bytes when none): for bytes encoded
   * before the bodies were known. It decodes and re-encodes the whole model; attachTo before encoding does not.
   */
  apply(modelBytes: Uint8Array): Uint8Array {
    if (this.pending.length === 0) return modelBytes;
    const model = onnx.ModelProto.decode(modelBytes);
    const nodes = model.graph?.node ?? [];
    for (const { output, attribute, graph } of this.pending) {
      const node = nodes.find((n) => n.output?.[0] === output);
      if (!node) throw new Error(`no node produces ${output}; cannot attach its ${attribute} graph`);
      node.attribute = [...(node.attribute ?? []), { name: attribute, type: onnx.AttributeProto.AttributeType.GRAPH, g: graph }];
    }
    return onnx.ModelProto.encode(model).finish();
  }
}
