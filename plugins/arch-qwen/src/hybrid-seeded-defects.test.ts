/**
 * Seeded defects, one per layer kind of the hybrid Qwen decoders, must make validation fail: each test converts
 * a tiny checkpoint (the real tensor names), breaks one computation in the ONNX graph the kit built — the causal
 * conv, the decay gate, the delta rule's write strength, the attention output gate, the rotary embedding, the
 * zero-centred norm, the MoE routing — and runs validator-forward's forward checks on the folder: the reference
 * comparison and the layer sample (the validator's own Gated DeltaNet / gated-attention math). The intact graph
 * passes the same checks, so each failure is the defect's.
 *
 * The graph edits find nodes by what they compute (op type and the checkpoint tensor they read), not by position;
 * if the kit's graph is restructured and a node is no longer found, the test says which.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationReport, type ArchitectureClaim } from '../../../src/index.js';
import { tempDir } from '../../../test/support/temp.js';
import { writeRepoFiles } from '../../../test/fixtures/tiny-models.js';
import { makeTinyHybridModel, type TinyHybridOptions } from '../../../test/fixtures/tiny-hybrid-models.js';
import { validateModel } from '../../validator-forward/src/validator-forward.js';
import { makeSubject } from '../../validator-forward/test-support/subject.js';
import { convertFolder } from '../test/harness.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;

let root: string;
let cleanup: () => Promise<void>;
const folders = new Map<string, { dir: string; claim: ArchitectureClaim }>();

const MODELS: Record<string, TinyHybridOptions> = {
  dense: { family: 'qwen3_5', seed: 41 },
  next: { family: 'qwen3_next', seed: 42 },
  // The text-only re-saves: DecoderOnly folders for transformers.js (onnx/model.onnx, no position_ids).
  denseText: { family: 'qwen3_5', seed: 43, textOnly: true },
  moeText: { family: 'qwen3_5_moe', seed: 44, textOnly: true },
  // Qwen3-Next with a dense MLP in layer 1 (mlp_only_layers): dense and sparse layers in one model.
  nextMixed: { family: 'qwen3_next', seed: 45, mlpOnlyLayers: [1] },
};

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('arch-qwen-defects-'));
  for (const [name, options] of Object.entries(MODELS)) {
    const raw = path.join(root, name, 'raw');
    const out = path.join(root, name, 'out');
    await writeRepoFiles(raw, makeTinyHybridModel(options));
    const { claim } = await convertFolder(raw, out, {}, {}); // the default plugin options: the ONNX graph is built
    folders.set(name, { dir: out, claim });
  }
}, 60_000);
afterAll(async () => cleanup());

/** The forward checks (no transformers.js: it compares the graph with itself, the reference is what catches these). */
async function forwardFindings(model: string, transformersJs = false): Promise<Record<string, string>> {
  const { dir, claim } = folders.get(model)!;
  const report = new ValidationReport();
  await validateModel(await makeSubject(dir, { claim }), report, { transformersJs });
  if (process.env.SHOW_DEFECTS) console.log(model, JSON.stringify(report.findings.filter((f) => ['layer sample', 'reference'].includes(f.check)).map((f) => [f.check, f.status, f.figure ?? f.message])));
  return Object.fromEntries(report.findings.map((f) => [f.check, f.status]));
}

function find(model: Model, what: string, test: (n: Node) => boolean): Node {
  const node = model.graph!.node!.find(test);
  if (!node) throw new Error(`the kit's graph has no ${what} any more: update this seeded defect`);
  return node;
}

/** Node `n` computes its first input unchanged (drops what it does). */
function bypass(n: Node): void {
  n.opType = 'Identity';
  n.input = [n.input![0]!];
  n.attribute = [];
}

/** Input `index` of node `n` scaled by `factor` through a Mul inserted just before it (order stays topological). */
function scaleInput(model: Model, n: Node, index: number, factor: number): void {
  const nodes = model.graph!.node!;
  const value = n.input![index]!;
  const scaled = `${value}__defect`;
  model.graph!.initializer!.push(onnx.TensorProto.create({ name: `${scaled}_factor`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [], floatData: [factor] }));
  nodes.splice(nodes.indexOf(n), 0, onnx.NodeProto.create({ opType: 'Mul', input: [value, `${scaled}_factor`], output: [scaled], name: `n_${scaled}` }));
  n.input![index] = scaled;
}

/** The first node of type `op` reached from `start`'s output within a few steps (following consumers). */
function downstream(model: Model, start: Node, op: string): Node | undefined {
  let frontier = [...start.output!];
  for (let depth = 0; depth < 5; depth++) {
    const next = model.graph!.node!.filter((n) => n.input!.some((i) => frontier.includes(i)));
    const hit = next.find((n) => n.opType === op);
    if (hit) return hit;
    frontier = next.flatMap((n) => n.output!);
  }
  return undefined;
}

const reads = (n: Node, tensor: string) => n.input!.some((i) => i === tensor || i.startsWith(`${tensor}.`));

const DEFECTS: Array<[string, string, (m: Model, P: string) => void]> = [
  ['causal conv (kernel halved)', 'dense', (m, P) => scaleInput(m, find(m, 'Conv on conv1d.weight', (n) => n.opType === 'Conv' && reads(n, `${P}.layers.0.linear_attn.conv1d.weight`)), 1, 0.5)],
  ['decay gate (A_log used without exp)', 'dense', (m, P) => bypass(find(m, 'Exp of A_log', (n) => n.opType === 'Exp' && reads(n, `${P}.layers.0.linear_attn.A_log`)))],
  ['delta rule write strength (beta without sigmoid)', 'dense', (m, P) => {
    const projection = find(m, 'in_proj_b projection', (n) => n.opType === 'Gemm' && reads(n, `${P}.layers.0.linear_attn.in_proj_b.weight`));
    const sigmoid = downstream(m, projection, 'Sigmoid');
    if (!sigmoid) throw new Error("the kit's graph has no sigmoid after in_proj_b any more: update this seeded defect");
    bypass(sigmoid);
  }],
  ['fused projections of Qwen3-Next (b/a gate without sigmoid)', 'next', (m, P) => {
    const projection = find(m, 'in_proj_ba projection', (n) => n.opType === 'Gemm' && reads(n, `${P}.layers.0.linear_attn.in_proj_ba.weight`));
    const sigmoid = downstream(m, projection, 'Sigmoid');
    if (!sigmoid) throw new Error("the kit's graph has no sigmoid after in_proj_ba any more: update this seeded defect");
    bypass(sigmoid);
  }],
  ['attention output gate not applied', 'dense', (m, P) => bypass(find(m, 'gated attention output', (n) => n.opType === 'Mul' && n.output!.includes(`${P}.layers.3.self_attn.gated`)))],
  ['partial rotary turned the other way for queries', 'dense', (m) => scaleInput(m, find(m, 'query sine table', (n) => n.output!.some((o) => o.startsWith('rope_sin_q'))), 0, -1)],
  ['zero-centred norm read as a plain weight (no 1 + w)', 'dense', (m, P) => bypass(find(m, 'the 1 + w of input_layernorm', (n) => n.opType === 'Add' && n.output!.includes(`${P}.layers.3.input_layernorm.weight.plus_one`)))],
  ['MoE routing on logits instead of probabilities', 'next', (m, P) => bypass(find(m, 'router softmax', (n) => n.opType === 'Softmax' && n.output!.includes(`${P}.layers.1.mlp.router`)))],
];

describe('validation fails on a seeded defect in any layer kind', () => {
  it('the intact graphs pass the forward checks', async () => {
    for (const model of ['dense', 'next']) {
      expect(await forwardFindings(model), model).toMatchObject({ logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'layer sample': 'pass' });
    }
  });

  it('a Qwen3-Next with mlp_only_layers validates (dense layer 1 sampled beside the sparse ones)', async () => {
    const findings = await forwardFindings('nextMixed');
    expect(findings).toMatchObject({ 'config reading': 'pass', 'tensor names': 'pass', logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'layer sample': 'pass' });
    expect(Object.values(findings)).not.toContain('fail');
  });

  it('the text-only re-saves validate (transformers.js 4.3.1 has no model class for qwen3_5_moe_text: skipped, saying why)', async () => {
    for (const [model, transformersJs] of [['denseText', 'pass'], ['moeText', 'skip']]) {
      const findings = await forwardFindings(model!, true);
      expect(findings, model).toMatchObject({ 'config reading': 'pass', 'tensor names': 'pass', logits: 'pass', reference: 'pass', 'kv-cache': 'pass', 'layer sample': 'pass', 'transformers.js': transformersJs });
      expect(Object.values(findings)).not.toContain('fail');
    }
  });

  it.each(DEFECTS)('%s', async (_name, model, defect) => {
    const { dir } = folders.get(model)!;
    const graphPath = path.join(dir, 'onnx', 'model.onnx');
    const intact = await readFile(graphPath);
    const graph = onnx.ModelProto.decode(intact);
    defect(graph, MODELS[model]!.family === 'qwen3_next' ? 'model' : 'model.language_model');
    await writeFile(graphPath, onnx.ModelProto.encode(graph).finish());
    try {
      const findings = await forwardFindings(model);
      expect(findings.reference).toBe('fail');
      // The validator's own layer math (sampling layers 0 and 3: the first DeltaNet and the attention layer) sees
      // the defects seeded there too; the routing defect sits in layer 1, which is not sampled.
      expect(findings['layer sample']).toBe(_name.startsWith('MoE routing') ? 'pass' : 'fail');
    } finally {
      await writeFile(graphPath, intact);
    }
  });
});
