/**
 * Test support: breaks a decoder graph on purpose, in ways only a specific check can see. Generic ONNX surgery
 * over onnx-proto; the weights stay external, so the graph still loads.
 */
import { readFile, writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * Multiplies the graph output `outputName` (e.g. present.0.key) by `factor`, without changing what the graph
 * computes internally: the full-sequence logits stay right, but whatever is fed back as a cache is wrong.
 */
export async function scaleGraphOutput(graphPath: string, outputName: string, factor: number): Promise<void> {
  const model = onnx.ModelProto.decode(await readFile(graphPath));
  const graph = model.graph!;
  const inner = `${outputName}__unscaled`;
  for (const node of graph.node ?? []) {
    node.output = (node.output ?? []).map((name) => (name === outputName ? inner : name));
    node.input = (node.input ?? []).map((name) => (name === outputName ? inner : name));
  }
  graph.initializer!.push(
    onnx.TensorProto.create({ name: `${outputName}__factor`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [], floatData: [factor] }),
  );
  graph.node!.push(onnx.NodeProto.create({ opType: 'Mul', input: [inner, `${outputName}__factor`], output: [outputName], name: `${outputName}__scale` }));
  await writeFile(graphPath, onnx.ModelProto.encode(model).finish());
}
