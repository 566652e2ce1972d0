/**
 * The values a graph node reads: its inputs and, for control-flow nodes (If, Loop, Scan), every outer-scope value
 * its subgraphs use without defining (ONNX lets a body read the enclosing graph's values by name). The segment
 * planner must count both, or a cut could fall between a value and the body that reads it.
 */
import onnxProto from 'onnx-proto';

type NodeProto = onnxProto.onnx.INodeProto;
type GraphProto = onnxProto.onnx.IGraphProto;

export function nodeReads(node: NodeProto): string[] {
  const reads = (node.input ?? []).filter((name) => name);
  for (const attribute of node.attribute ?? []) {
    for (const graph of [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])]) reads.push(...outerReferences(graph));
  }
  return reads;
}

/** Names a (sub)graph reads that none of its inputs, initializers or nodes define. */
function outerReferences(graph: GraphProto): Set<string> {
  const local = new Set<string>();
  for (const v of graph.input ?? []) if (v.name) local.add(v.name);
  for (const t of graph.initializer ?? []) if (t.name) local.add(t.name);
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) local.add(o);
  const outer = new Set<string>();
  for (const n of graph.node ?? []) for (const name of nodeReads(n)) if (!local.has(name)) outer.add(name);
  for (const v of graph.output ?? []) if (v.name && !local.has(v.name)) outer.add(v.name);
  return outer;
}
