import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { DataType, GraphBuilder } from './graph-builder.js';
import { bodyGraph, PendingSubgraphs } from '../linear-attention/subgraphs.js';

const header = { opset: 17, irVersion: 8, producer: 'model-import test', graphName: 'fronts' };

/** The names of a graph's own initializers (not those of its bodies). */
function initializerNames(graph: onnxProto.onnx.IGraphProto): string[] {
  return (graph.initializer ?? []).map((t) => t.name ?? '');
}

describe('GraphBuilder', () => {
  it('encodes one body behind two fronts: both run, each with only its own initializers', async () => {
    const g = new GraphBuilder();
    const start = g.name('start');
    const doubled = g.op('Mul', [start, g.float32s([2], [])]);
    g.opNamed('Add', [doubled, g.float32s([1], [])], 'y');
    g.output('y', DataType.FLOAT, ['n']);
    const fromX = new GraphBuilder({ frontOf: g });
    fromX.opNamed('Identity', [fromX.input('x', DataType.FLOAT, ['n'])], start);
    const fromZ = new GraphBuilder({ frontOf: g });
    fromZ.opNamed('Sub', [fromZ.input('z', DataType.FLOAT, ['n']), fromZ.float32s([10], [])], start);

    const [viaX, viaZ] = [g.encodeWithFront(header, fromX), g.encodeWithFront(header, fromZ)];
    const x = await ort.InferenceSession.create(viaX);
    const z = await ort.InferenceSession.create(viaZ);
    const run = async (session: ort.InferenceSession, input: string) =>
      Array.from((await session.run({ [input]: new ort.Tensor('float32', Float32Array.from([0, 1, 2]), [3]) })).y.data as Float32Array);
    expect(await run(x, 'x')).toEqual([1, 3, 5]);
    expect(await run(z, 'z')).toEqual([-19, -17, -15]);

    const decodedZ = onnxProto.onnx.ModelProto.decode(viaZ).graph!;
    expect(decodedZ.name).toBe('fronts');
    expect(decodedZ.node!.map((n) => n.opType)).toEqual(['Sub', 'Mul', 'Add']); // the front's nodes first
    expect(decodedZ.input!.map((i) => i.name)).toEqual(['z']);
    expect(initializerNames(decodedZ)).toHaveLength(3); // 10 (front), 2 and 1 (body); the x front adds none
    expect(initializerNames(onnxProto.onnx.ModelProto.decode(viaX).graph!)).toHaveLength(2);
    await Promise.all([x.release(), z.release()]);
  });

  it('keeps a body\'s constants in the outermost graph, once, when bodies are given their enclosing builder', async () => {
    const g = new GraphBuilder();
    const subgraphs = new PendingSubgraphs();
    const x = g.input('x', DataType.FLOAT, [3]);
    const flag = g.input('flag', DataType.BOOL, []);
    const branch = (scale: number) => bodyGraph(`times_${scale}`, (b) => {
      b.opNamed('Mul', [x, b.float32s([4, 5, 6], [3])], `out_${scale}`, {});
      b.output(`out_${scale}`, DataType.FLOAT, [3]);
    }, g);
    const [out] = g.node('If', [flag], {}, ['y']);
    subgraphs.add(out, 'then_branch', branch(1));
    subgraphs.add(out, 'else_branch', branch(2));
    g.output('y', DataType.FLOAT, [3]);
    subgraphs.attachTo(g);
    const bytes = g.encode(header);
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    expect(initializerNames(graph)).toHaveLength(1);
    for (const a of graph.node![0].attribute!) expect(a.g!.initializer ?? []).toHaveLength(0);
    const session = await ort.InferenceSession.create(bytes);
    const y = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 2]), [3]), flag: new ort.Tensor('bool', [true], []) });
    expect(Array.from(y.y.data as Float32Array)).toEqual([4, 5, 12]);
    await session.release();
  });
});
