/**
 * One decoder layer (or the head) of the adapter's ONNX graph, cut out as its own onnxruntime session, so a
 * layer can be run on hidden states of the validator's choosing at any model size (one layer's weights in
 * memory). A layer's input is found from the graph itself, not from the adapter: the tensor whose RMS is taken
 * (the first Pow upstream of the node that reads `model.layers.{i}.input_layernorm.weight`, through its Cast or
 * a zero-centred norm's 1 + w), or the first input
 * of a fused SimplifiedLayerNormalization / RMSNormalization reading it. The head's input is found the same way
 * from `model.norm.weight`, its output is `logits`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { DecoderSignature, tensorsHere, type TensorMeta } from './decoder-call.js';
import { externalRows } from './external-rows.js';
import { nodeReads } from './node-reads.js';
import { inProcessSessions, type SessionHost } from './onnx-process.js';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

const ELEM_TYPES: Record<number, Tensor.Type> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
const FUSED_NORMS = new Set(['SimplifiedLayerNormalization', 'RMSNormalization', 'SkipSimplifiedLayerNormalization']);

export class SliceError extends Error {}

export class LayerSlices {
  private rank = 2;
  private constructor(
    private readonly model: InstanceType<typeof onnx.ModelProto>,
    private readonly producers: ReadonlyMap<string, NodeProto>,
    private readonly consumers: ReadonlyMap<string, NodeProto[]>,
    private readonly initializers: ReadonlyMap<string, TensorProto>,
    private readonly signature: DecoderSignature,
    private readonly folder: string,
    private readonly sessionOptions: InferenceSession.SessionOptions,
    private readonly host: SessionHost,
  ) {}

  /** `host`: where the slices' sessions live (the validator passes its onnxruntime process). */
  static async open(graphPath: string, sessionOptions: Record<string, unknown> = {}, host: SessionHost = inProcessSessions): Promise<LayerSlices> {
    const model = onnx.ModelProto.decode(await readFile(graphPath));
    const graph = model.graph;
    if (!graph) throw new SliceError('the model has no graph');
    const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    const producers = new Map<string, NodeProto>();
    const consumers = new Map<string, NodeProto[]>();
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) producers.set(out, node);
      for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
    }
    const inputs: TensorMeta[] = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => ({
      name: v.name ?? '',
      type: ELEM_TYPES[v.type?.tensorType?.elemType ?? 0] ?? 'float32',
      shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : '')),
    }));
    const signature = new DecoderSignature(inputs, (graph.output ?? []).map((v) => v.name ?? ''));
    return new LayerSlices(model, producers, consumers, initializers, signature, path.dirname(path.resolve(graphPath)), sessionOptions as InferenceSession.SessionOptions, host);
  }

  /** The residual-stream tensor entering the norm that reads `weightName`. */
  normInput(weightName: string): string {
    if (!this.initializers.has(weightName)) throw new SliceError(`the graph has no initializer ${weightName}`);
    // The weight may pass through Cast (bf16 storage) before the norm's Mul reads it.
    let frontier = [weightName];
    for (let hop = 0; hop < 4; hop++) {
      const next: string[] = [];
      for (const name of frontier) {
        for (const node of this.consumers.get(name) ?? []) {
          if (FUSED_NORMS.has(node.opType ?? '')) return node.input![0]!;
          const other = (node.input ?? []).filter((i) => i !== name);
          // Cast (bf16 storage), Identity, or an op with constants only, e.g. the 1 + w of a zero-centred norm.
          if (node.opType === 'Cast' || node.opType === 'Identity' || (other.length > 0 && other.every((i) => this.initializers.has(i)))) {
            next.push(...(node.output ?? []));
            continue;
          }
          const found = this.findPowInput(other);
          if (found) return found;
        }
      }
      frontier = next;
    }
    throw new SliceError(`no RMSNorm input found for ${weightName}`);
  }

  private findPowInput(start: string[]): string | undefined {
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length > 0 && seen.size < 64) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if ((this.consumers.get(name) ?? []).some((n) => n.opType === 'Pow')) return name;
      const producer = this.producers.get(name);
      if (producer) queue.push(...(producer.input ?? []).filter((i) => i && !this.initializers.has(i)));
    }
    return undefined;
  }

  /**
   * The head's logits for some vocabulary rows only: the graph's head matrices (the Gemm(x, W, transB) parts the
   * logits are concatenated from, W an initializer maybe behind Reshape/Cast) are gathered to those rows before
   * one Gemm, so neither the float32 head nor the full logits exist. `rows` ascending; [seq, rows.length] out.
   * A part stored as external data contributes only its sampled rows' bytes (external-rows.ts); another is
   * loaded whole, only when `wholePartsFit`. Undefined when the head is not made of such parts, or a part would
   * have to be loaded whole and may not (the caller then runs the whole head, or skips it).
   */
  async runHeadRows(input: string, rows: readonly number[], hidden: Float32Array, seq: number, hiddenSize: number, vocab: number, wholePartsFit = true): Promise<Float32Array | undefined> {
    const parts = this.headParts(hiddenSize);
    if (!parts || parts.reduce((n, p) => n + p.rows, 0) !== vocab) return undefined;
    if (parts.some((p) => p.a !== parts[0]!.a)) return undefined;
    const nodes: NodeProto[] = [];
    const initializers: TensorProto[] = [];
    const gathered: string[] = [];
    let offset = 0;
    for (const [k, part] of parts.entries()) {
      const local = rows.filter((r) => r >= offset && r < offset + part.rows).map((r) => r - offset);
      offset += part.rows;
      if (local.length === 0) continue;
      let w = `head_sample.w_${k}`;
      // Only the sampled rows' bytes when the part is external data (the whole part otherwise, if it fits).
      const picked = externalRows(this.initializers.get(part.weight)!, local, w);
      if (picked) {
        nodes.push(...picked.nodes);
        initializers.push(...picked.initializers);
      } else {
        if (!wholePartsFit) return undefined;
        const idx = `head_sample.rows_${k}`;
        initializers.push(onnx.TensorProto.create({ name: idx, dataType: 7, dims: [local.length], int64Data: local }));
        nodes.push(onnx.NodeProto.create({ opType: 'Gather', input: [part.weight, idx], output: [w], attribute: [{ name: 'axis', type: 2, i: 0 }] }));
        initializers.push(this.initializers.get(part.weight)!);
      }
      if (part.castTo !== undefined) {
        nodes.push(onnx.NodeProto.create({ opType: 'Cast', input: [w], output: [`${w}.f32`], attribute: [{ name: 'to', type: 2, i: part.castTo }] }));
        w = `${w}.f32`;
      }
      gathered.push(w);
    }
    const matrix = gathered.length === 1 ? gathered[0]! : 'head_sample.w';
    if (gathered.length > 1) nodes.push(onnx.NodeProto.create({ opType: 'Concat', input: gathered, output: [matrix], attribute: [{ name: 'axis', type: 2, i: 0 }] }));
    nodes.push(onnx.NodeProto.create({ opType: 'Gemm', input: [parts[0]!.a, matrix], output: ['head_sample.logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] }));
    return this.run(input, 'head_sample.logits', hidden, seq, hiddenSize, { nodes, initializers, needs: [parts[0]!.a] });
  }

  /** logits ← Reshape/Identity ← Concat of parts (or one part), each Gemm(a, W | Cast(Reshape(W)), transB=1). */
  private headParts(hiddenSize: number): Array<{ a: string; weight: string; rows: number; castTo?: number }> | undefined {
    let name = 'logits';
    for (let hop = 0; hop < 4; hop++) {
      const p = this.producers.get(name);
      if (p?.opType !== 'Reshape' && p?.opType !== 'Identity') break;
      name = p.input![0]!;
    }
    const top = this.producers.get(name);
    const partNames = top?.opType === 'Concat' && attr(top, 'axis') !== 0 ? [...(top.input ?? [])] : [name];
    const parts = [];
    for (const part of partNames) {
      const gemm = this.producers.get(part);
      if (gemm?.opType !== 'Gemm' || attr(gemm, 'transB') !== 1 || attr(gemm, 'transA') === 1 || (gemm.input ?? []).length > 2) return undefined;
      if ((attr(gemm, 'alpha', 1) ?? 1) !== 1) return undefined;
      let w = gemm.input![1]!;
      let castTo: number | undefined;
      for (let hop = 0; hop < 3 && !this.initializers.has(w); hop++) {
        const p = this.producers.get(w);
        if (p?.opType === 'Cast') castTo = attr(p, 'to');
        else if (p?.opType !== 'Reshape' && p?.opType !== 'Identity') return undefined;
        w = p!.input![0]!;
      }
      const init = this.initializers.get(w);
      if (!init || (init.dims ?? []).length !== 2 || Number(init.dims![1]) !== hiddenSize) return undefined;
      parts.push({ a: gemm.input![0]!, weight: w, rows: Number(init.dims![0]), castTo });
    }
    return parts;
  }

  /** Runs the part of the graph that computes `output` from `input` (the hidden states [1, seq, H] given). */
  async run(
    input: string,
    output: string,
    hidden: Float32Array,
    seq: number,
    hiddenSize: number,
    /** Nodes appended after the graph's own (computing `output` from `needs`), with their initializers. */
    tail?: { nodes: NodeProto[]; initializers: TensorProto[]; needs: string[] },
  ): Promise<Float32Array> {
    const nodes = new Set<NodeProto>();
    const needed = new Set<string>();
    const stack = tail ? [...tail.needs] : [output];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (name === input || needed.has(name)) continue;
      needed.add(name);
      const producer = this.producers.get(name);
      if (!producer || nodes.has(producer)) continue;
      nodes.add(producer);
      // A control-flow node (a Gated DeltaNet layer's If / Scan / Loop) also needs what its bodies read.
      for (const i of nodeReads(producer)) stack.push(i);
    }
    const ordered = [...(this.model.graph!.node ?? []).filter((n) => nodes.has(n)), ...(tail?.nodes ?? [])];
    const produced = new Set(ordered.flatMap((n) => n.output ?? []));
    const graphInputs = [...needed].filter((n) => !produced.has(n) && !this.initializers.has(n) && n !== input && n !== '');
    const ids = Array.from({ length: seq }, (_, i) => i);
    const all = tensorsHere(this.signature.feeds({ ids: [ids], mask: [ids.map(() => 1)] }));
    const feeds: Record<string, Tensor> = { [input]: new Tensor('float32', hidden, [1, seq, hiddenSize]) };
    for (const name of graphInputs) {
      if (!all[name]) throw new SliceError(`the slice needs ${name}, which is not a graph input the validator can feed`);
      feeds[name] = all[name];
    }
    const info = (name: string, elemType?: number) => onnx.ValueInfoProto.create(elemType ? { name, type: { tensorType: { elemType } } } : { name });
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: this.model.irVersion,
      opsetImport: this.model.opsetImport,
      producerName: 'model-import/validator-forward (layer slice)',
      graph: {
        name: 'slice',
        node: ordered,
        initializer: [...[...needed].filter((n) => this.initializers.has(n)).map((n) => this.initializers.get(n)!), ...(tail?.initializers ?? [])],
        input: [info(input, 1), ...graphInputs.map((n) => info(n, ({ float32: 1, int64: 7, int32: 6, bool: 9, float16: 10 } as Record<string, number>)[feeds[n]!.type] ?? 1))],
        output: [info(output)],
      },
    })).finish();
    const session = await this.host.create(bytes, {
      ...this.sessionOptions,
      // A rank the slice rejects is retried with the other one: keep onnxruntime from logging that attempt.
      logSeverityLevel: 4,
      extra: { ...((this.sessionOptions.extra as Record<string, unknown>) ?? {}), session: { model_external_initializers_file_folder_path: this.folder } },
    });
    try {
      // The residual stream is [batch, seq, H] in some graphs and [tokens, H] in others: try this graph's last
      // working rank first, then the other.
      const ranks = this.rank === 2 ? [2, 3] : [3, 2];
      let lastError: unknown;
      for (const rank of ranks) {
        feeds[input] = new Tensor('float32', hidden, rank === 3 ? [1, seq, hiddenSize] : [seq, hiddenSize]);
        try {
          const result = await session.run(feeds, [output]);
          this.rank = rank;
          return result[output]!.data as Float32Array;
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    } finally {
      await session.release();
    }
  }
}

/** An integer attribute of a node (`fallback` when absent). */
function attr(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return fallback;
  if (a.type === 1) return a.f ?? fallback;
  return a.i === undefined || a.i === null ? fallback : Number(a.i);
}
