/**
 * Bounded-memory execution of any decoder graph whose weights are external data: the graph's nodes (already in
 * topological order, as ONNX requires) are cut into consecutive segments whose weights fit a byte budget, and
 * each segment runs as its own onnxruntime session, one at a time. Tensors that cross a cut stay in JS memory
 * (activations, masks, the KV cache: small next to the weights) and are dropped after their last use.
 *
 * It knows no architecture and needs nothing from the adapter: the cut points are wherever the weight budget
 * says, and the same graph the full mode opens is what runs, so both modes compute the same logits. Segments
 * are loaded from memory, with external data resolved against the graph's own folder (onnxruntime's
 * `session.model_external_initializers_file_folder_path`), so nothing is written into the model folder.
 *
 * A call may continue from an earlier call's cache in the same run (DecoderCall.past as an index): layer k's cache
 * only feeds layer k, so within each segment the earlier call has produced it before the later call needs it.
 * One pass over the weights then serves a prompt run, a prefix run and a decode step from that prefix.
 * Control flow (the If / Scan / Loop of a Gated DeltaNet layer) stays inside one segment with the outer values its
 * bodies read (node-reads.ts).
 *
 * A Gather of rows from a large external table (the token embedding: 508 MB bf16 for Qwen3.5's 248k vocabulary,
 * more than a 1 GB budget's segment) starts a segment of its own, so its indices arrive from JS: the segment then
 * holds only the rows the calls ask for (external-rows.ts), not the table.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { ELEM_BYTES, externalRange, externalRows } from './external-rows.js';
import { cacheRowsHere, DecoderSignature, tensorsHere, type Decoder, type DecoderCall, type KvCache, type StepResult, type TensorMeta } from './decoder-call.js';
import { nodeReads } from './node-reads.js';
import { inProcessSessions, type SessionHost } from './onnx-process.js';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

const ELEM_TYPES: Record<number, Tensor.Type> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};
const ELEM_CODES = Object.fromEntries(Object.entries(ELEM_TYPES).map(([code, type]) => [type, Number(code)])) as Record<string, number>;

/** The graph cannot be cut into segments (the validator says so in a finding instead of failing the model). */
export class CannotSegmentError extends Error {}

interface Segment {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Tensors the segment reads that an earlier segment (or the caller) produced. */
  inputs: string[];
  /** Tensors it produces that a later segment or the caller needs. */
  outputs: string[];
  weightBytes: number;
  /** Gathers (first in the segment, indices from JS) that read only the asked rows of their table. */
  rowGathers: RowGather[];
}

interface RowGather {
  node: NodeProto;
  table: string;
  indices: string;
}

/** A table this large (or larger than a segment may hold) is gathered by rows in a segment of its own. */
const ROW_GATHER_MIN_BYTES = 16 * 2 ** 20;

export interface SegmentPlan {
  segments: number;
  /** Largest weight bytes of one segment. */
  largestSegmentBytes: number;
  /** Tables read by rows (the token embedding), not loaded whole. */
  tablesByRows: number;
}

export class SegmentedDecoder implements Decoder {
  createMs = 0;

  private constructor(
    private readonly model: InstanceType<typeof onnx.ModelProto>,
    private readonly segments: readonly Segment[],
    /** Tensor -> index of the last segment that reads it (graph outputs are kept to the end). */
    private readonly lastUse: ReadonlyMap<string, number>,
    private readonly signature: DecoderSignature,
    private readonly sessionOptions: InferenceSession.SessionOptions,
    private readonly host: SessionHost,
  ) {}

  /** `host`: where the segments' sessions live (the validator passes its onnxruntime process). */
  static async open(graphPath: string, sessionOptions: Record<string, unknown>, segmentBytes: number, host: SessionHost = inProcessSessions): Promise<SegmentedDecoder> {
    const model = onnx.ModelProto.decode(await readFile(graphPath));
    const graph = model.graph;
    if (!graph) throw new CannotSegmentError('the model has no graph');
    const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    const inputs: TensorMeta[] = (graph.input ?? [])
      .filter((v) => !initializers.has(v.name ?? ''))
      .map((v) => ({
        name: v.name ?? '',
        type: ELEM_TYPES[v.type?.tensorType?.elemType ?? 0] ?? 'float32',
        shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : '')),
      }));
    const outputs = (graph.output ?? []).map((v) => v.name ?? '');
    const signature = new DecoderSignature(inputs, outputs);
    const segments = planSegments(graph.node ?? [], initializers, new Set(outputs), segmentBytes, signature.pastToPresent);
    const lastUse = new Map<string, number>();
    segments.forEach((segment, index) => segment.inputs.forEach((name) => lastUse.set(name, index)));
    for (const name of outputs) lastUse.set(name, Infinity);
    const options: InferenceSession.SessionOptions = {
      ...(sessionOptions as InferenceSession.SessionOptions),
      extra: {
        ...((sessionOptions.extra as Record<string, unknown>) ?? {}),
        session: {
          ...(((sessionOptions.extra as Record<string, unknown>)?.session as Record<string, unknown>) ?? {}),
          model_external_initializers_file_folder_path: path.dirname(path.resolve(graphPath)),
        },
      },
    };
    return new SegmentedDecoder(model, segments, lastUse, signature, options, host);
  }

  get plan(): SegmentPlan {
    return {
      segments: this.segments.length,
      largestSegmentBytes: Math.max(...this.segments.map((s) => s.weightBytes)),
      tablesByRows: this.segments.reduce((n, s) => n + s.rowGathers.length, 0),
    };
  }

  get hasCache(): boolean {
    return this.signature.pastInputs.length > 0;
  }

  async run(calls: readonly DecoderCall[]): Promise<StepResult[]> {
    const states = calls.map((call) => new Map(Object.entries(tensorsHere(this.signature.feeds(call)))));
    for (const [index, segment] of this.segments.entries()) {
      const gathered = this.gatherRows(segment, states, calls);
      const types = new Map(gathered.segment.inputs.map((name) => [name, (gathered.feeds.get(name)?.[0] ?? this.valueOf(states, calls, 0, name)).type]));
      const started = performance.now();
      const session = await this.host.create(this.segmentBytes(gathered.segment, types), this.sessionOptions);
      this.createMs += performance.now() - started;
      try {
        for (const [i, state] of states.entries()) {
          const feeds = Object.fromEntries(gathered.segment.inputs.map((name) => [name, gathered.feeds.get(name)?.[i] ?? this.valueOf(states, calls, i, name)]));
          const produced = await session.run(feeds, segment.outputs);
          for (const [name, tensor] of Object.entries(produced)) state.set(name, tensor);
        }
      } finally {
        await session.release();
      }
      for (const state of states) for (const name of segment.inputs) if (this.lastUse.get(name) === index) state.delete(name);
    }
    return states.map((state) => this.signature.result(Object.fromEntries(state)));
  }

  async cacheRows(cache: KvCache, from: number, to: number): Promise<KvCache> {
    return cacheRowsHere(cache, from, to);
  }

  async release(): Promise<void> {
    // Sessions live for one segment each; nothing stays open between runs.
  }

  /** A segment input of call i: its own tensor, or the present.* of the earlier call it continues from. */
  private valueOf(states: ReadonlyArray<Map<string, Tensor>>, calls: readonly DecoderCall[], i: number, name: string): Tensor {
    const own = states[i].get(name);
    if (own) return own;
    const from = calls[i].past;
    const present = this.signature.pastToPresent.get(name);
    const continued = typeof from === 'number' && present ? states[from].get(present) : undefined;
    if (!continued) throw new Error(`segmented run: no value for ${name} in call ${i}`);
    return continued;
  }

  /**
   * The segment with each row gather reading the union of the rows its calls ask for, and the remapped indices
   * each call feeds; the segment unchanged when an index is out of range (onnxruntime then reports it as usual).
   */
  private gatherRows(segment: Segment, states: ReadonlyArray<Map<string, Tensor>>, calls: readonly DecoderCall[]): { segment: Segment; feeds: Map<string, Tensor[]> } {
    const feeds = new Map<string, Tensor[]>();
    if (segment.rowGathers.length === 0) return { segment, feeds };
    let nodes = segment.nodes;
    const initializers = [...segment.initializers];
    let inputs = segment.inputs;
    const tables = new Map((this.model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
    for (const gather of segment.rowGathers) {
      const perCall = calls.map((_, i) => this.valueOf(states, calls, i, gather.indices));
      const values = perCall.map((t) => Array.from(t.data as BigInt64Array | Int32Array, Number));
      const rows = [...new Set(values.flat())].sort((a, b) => a - b);
      const table = tables.get(gather.table);
      const picked = table ? externalRows(table, rows, `${gather.table}#rows`) : undefined;
      if (!picked) {
        initializers.push(table!);
        continue;
      }
      const where = new Map(rows.map((row, k) => [row, k]));
      const remapped = `${gather.indices}#rows`;
      feeds.set(remapped, perCall.map((t, i) => new Tensor('int64', BigInt64Array.from(values[i]!, (v) => BigInt(where.get(v)!)), t.dims)));
      nodes = [...picked.nodes, ...nodes.map((n) => (n === gather.node ? { ...n, input: [picked.output, remapped, ...(n.input ?? []).slice(2)] } : n))];
      initializers.push(...picked.initializers);
      const stillRead = nodes.some((n) => nodeReads(n).includes(gather.indices));
      inputs = [...(stillRead ? inputs : inputs.filter((name) => name !== gather.indices)), remapped];
    }
    return { segment: { ...segment, nodes, initializers, inputs }, feeds };
  }

  private segmentBytes(segment: Segment, types: ReadonlyMap<string, Tensor.Type>): Uint8Array {
    const valueInfo = (name: string, type?: Tensor.Type) =>
      onnx.ValueInfoProto.create(type ? { name, type: { tensorType: { elemType: ELEM_CODES[type] } } } : { name });
    return onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: this.model.irVersion,
        opsetImport: this.model.opsetImport,
        producerName: 'model-import/validator-forward (segment)',
        graph: {
          name: 'segment',
          node: segment.nodes,
          initializer: segment.initializers,
          input: segment.inputs.map((name) => valueInfo(name, types.get(name))),
          // Output types are left to onnxruntime's inference.
          output: segment.outputs.map((name) => valueInfo(name)),
        },
      }),
    ).finish();
  }
}

/**
 * Data types onnxruntime-node cannot hand to JS (bfloat16, float8, complex). A cut must not fall where such a
 * tensor crosses from one segment to the next (e.g. between a bf16 weight's Gather and its Cast).
 */
const NOT_IN_JS = new Set([14, 15, 16, 17, 18, 19, 20]);
/** Ops whose output has their (first) data input's type: a weight's dtype flows through them. */
const TYPE_PRESERVING = new Set(['Gather', 'Reshape', 'Transpose', 'Slice', 'Squeeze', 'Unsqueeze', 'Concat', 'Split', 'Identity', 'Flatten', 'Expand', 'Tile', 'GatherElements']);

/**
 * Consecutive node ranges whose initializer bytes stay within segmentBytes (a single larger node gets its own),
 * cut only where every crossing tensor is a type JS can hold, and never between a cache input and the output that
 * replaces it (a call continuing from an earlier one reads the earlier call's present_* in the segment where its
 * own past_* is read: a KV Concat reads and writes in one node, a conv state is sliced a few nodes later).
 */
export function planSegments(
  nodes: readonly NodeProto[],
  initializers: ReadonlyMap<string, TensorProto>,
  graphOutputs: ReadonlySet<string>,
  segmentBytes: number,
  pastToPresent: ReadonlyMap<string, string> = new Map(),
): Segment[] {
  const lastRead = new Map<string, number>();
  // Control-flow nodes also read the outer values their subgraphs use (nodeReads), so no cut separates them.
  nodes.forEach((node, index) => nodeReads(node).forEach((name) => lastRead.set(name, index)));
  const exotic = new Set([...initializers].filter(([, t]) => NOT_IN_JS.has(t.dataType ?? 0)).map(([name]) => name));
  const liveExotic = new Set<string>(); // produced exotic tensors still to be read
  const pendingPresent = new Set<string>(); // present_* whose past_* the current group has read

  const groups: Array<{ nodes: NodeProto[]; weights: Set<string>; bytes: number }> = [];
  let current = { nodes: [] as NodeProto[], weights: new Set<string>(), bytes: 0 };
  const freshWeights = (node: NodeProto, except?: string) => [...new Set(nodeReads(node))].filter((name) => name !== except && initializers.has(name) && !current.weights.has(name));
  const rowGathers = new Map<object, RowGather[]>();
  const bytesOf = (names: string[]) => names.reduce((sum, name) => sum + initializerBytes(initializers.get(name)!), 0);
  for (const [index, node] of nodes.entries()) {
    for (const name of liveExotic) if ((lastRead.get(name) ?? -1) < index) liveExotic.delete(name);
    const cuttable = liveExotic.size === 0 && pendingPresent.size === 0;
    const gather = cuttable ? rowGatherOf(node, initializers, Math.min(ROW_GATHER_MIN_BYTES, segmentBytes)) : undefined;
    if (gather && current.nodes.length > 0) {
      groups.push(current);
      current = { nodes: [], weights: new Set(), bytes: 0 };
    }
    let fresh = freshWeights(node, gather?.table);
    if (!gather && current.nodes.length > 0 && current.bytes + bytesOf(fresh) > segmentBytes && cuttable) {
      groups.push(current);
      current = { nodes: [], weights: new Set(), bytes: 0 };
      fresh = freshWeights(node);
    }
    if (gather) rowGathers.set(current, [...(rowGathers.get(current) ?? []), gather]);
    current.nodes.push(node);
    for (const name of fresh) current.weights.add(name);
    current.bytes += bytesOf(fresh);
    for (const name of nodeReads(node)) {
      const present = pastToPresent.get(name);
      if (present) pendingPresent.add(present);
    }
    for (const out of node.output ?? []) pendingPresent.delete(out);
    const inputs = node.input ?? [];
    const carriesExotic = TYPE_PRESERVING.has(node.opType ?? '') && (node.opType === 'Concat' ? inputs.some((i) => exotic.has(i)) : exotic.has(inputs[0] ?? ''));
    if (carriesExotic) {
      for (const out of node.output ?? []) {
        exotic.add(out);
        liveExotic.add(out);
      }
    }
  }
  groups.push(current);
  return finish();

  function finish(): Segment[] {
    const producedIn = new Map<string, number>();
    groups.forEach((g, index) => g.nodes.forEach((n) => (n.output ?? []).forEach((o) => o && producedIn.set(o, index))));
    const neededAfter = new Map<string, number>(); // tensor -> last group reading it
    groups.forEach((g, index) => g.nodes.forEach((n) => nodeReads(n).forEach((i) => neededAfter.set(i, index))));
    return groups.map((group, index) => {
      const inside = new Set(group.nodes.flatMap((n) => n.output ?? []));
      const inputs = new Set<string>();
      for (const node of group.nodes) {
        for (const name of nodeReads(node)) if (!inside.has(name) && !initializers.has(name)) inputs.add(name);
      }
      const outputs = [...inside].filter((name) => name && (graphOutputs.has(name) || (neededAfter.get(name) ?? -1) > index));
      // A row gather whose table another node of the group reads whole loads it anyway: no gather by rows.
      const gathers = (rowGathers.get(group) ?? []).filter((g) => !group.weights.has(g.table));
      return {
        nodes: group.nodes,
        initializers: [...group.weights].map((name) => initializers.get(name)!),
        inputs: [...inputs],
        outputs,
        weightBytes: group.bytes,
        rowGathers: gathers,
      };
    });
  }
}

/** A Gather on axis 0 of a large external initializer whose indices are computed, not stored. */
function rowGatherOf(node: NodeProto, initializers: ReadonlyMap<string, TensorProto>, minBytes: number): RowGather | undefined {
  if (node.opType !== 'Gather' || Number((node.attribute ?? []).find((a) => a.name === 'axis')?.i ?? 0) !== 0) return undefined;
  const [table, indices] = node.input ?? [];
  const tensor = table ? initializers.get(table) : undefined;
  if (!tensor || !indices || initializers.has(indices)) return undefined;
  const range = externalRange(tensor);
  return range && range.length >= minBytes ? { node, table: table!, indices } : undefined;
}

function initializerBytes(tensor: TensorProto): number {
  const length = (tensor.externalData ?? []).find((e) => e.key === 'length')?.value;
  if (length) return Number(length);
  if (tensor.rawData?.length) return tensor.rawData.length;
  const elements = (tensor.dims ?? []).reduce((n: number, d) => n * Number(d), 1);
  return elements * (ELEM_BYTES[tensor.dataType ?? 1] ?? 4);
}
