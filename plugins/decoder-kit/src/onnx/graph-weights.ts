/**
 * The checkpoint's tensors as values of the decoder graph being built: external initializers over the
 * safetensors byte ranges (hard-linked into onnx/), widened to float32 at run time, plus the linear layer and the
 * RMSNorm every block uses. Shared by the whole-decoder builder and its layer files.
 */
import type { ModelWeights, WeightDtype, WeightLocation } from '../reference/model-weights.js';
import { DataType, type ElemType, type GraphBuilder } from './graph-builder.js';

export const ELEM: Record<WeightDtype, ElemType> = { BF16: DataType.BFLOAT16, F16: DataType.FLOAT16, F32: DataType.FLOAT };
export const ELEM_SIZE: Record<WeightDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export class GraphWeights {
  /** A runtime zero per activation (see zeroFrom). */
  private readonly zeros = new Map<string, string>();
  private twoName?: string;
  private readonly constants = new Map<number, string>();

  /**
   * `initializers` is where external weights are declared: the main graph's builder when `g` builds the body of
   * an If (a body reads them as outer-scope values, so every weight stays one top-level initializer).
   */
  constructor(readonly g: GraphBuilder, readonly weights: ModelWeights, readonly initializers: GraphBuilder = g) {
  }

  /** Made on first use: a body builder that never norms would otherwise carry an unused initializer. */
  private get two(): string {
    return (this.twoName ??= this.g.float32s([2], []));
  }

  /**
   * A runtime zero that depends on x: its first axis (B·S, always symbolic) times 0. ORT's shape optimizers
   * replace Shape/Slice of static dims with constants, so the dependency must go through a dynamic dim.
   */
  zeroFrom(x: string): string {
    let zero = this.zeros.get(x);
    if (!zero) {
      const g = this.g;
      const rows = g.op('Slice', [g.op('Shape', [x]), g.int64s([0]), g.int64s([1])], {}, `${x}.rows`);
      zero = g.op('Mul', [rows, g.int64s([0], [])], {}, `${x}.zero`);
      this.zeros.set(x, zero);
    }
    return zero;
  }

  /**
   * An external initializer over a tensor (or a byte sub-range of it), as float32. A matrix weight is first
   * passed through a Reshape whose target shape is read from the activation it multiplies (same values, no copy:
   * Reshape aliases its input). That data dependency is the point: without it ORT's topological order runs
   * weight Casts long before their Gemm (all f32 copies alive at once), constant folding under default session
   * options materialises every weight as float32, and Gemm prepacks constant f32 weights into a second copy.
   */
  weight(where: WeightLocation, dimsOf: number[], byteStart: number, hint: string, anchor?: string): string {
    let value = this.stored(where, dimsOf, byteStart, hint);
    if (anchor) value = this.bound(value, dimsOf, hint, anchor);
    return this.widened(value, where.dtype, hint);
  }

  /** The external initializer over the tensor's bytes (or a sub-range), in the stored dtype. */
  stored(where: WeightLocation, dimsOf: number[], byteStart: number, hint: string): string {
    const length = dimsOf.reduce((a, b) => a * b, 1) * ELEM_SIZE[where.dtype];
    return this.initializers.external(hint, ELEM[where.dtype], dimsOf, { location: where.fileName, offset: where.fileOffset + byteStart, length });
  }

  /** `value` passed through a Reshape whose shape depends on `anchor` (see weight()). */
  bound(value: string, dimsOf: number[], hint: string, anchor: string): string {
    const shape = this.g.op('Add', [this.g.int64s(dimsOf), this.zeroFrom(anchor)], {}, `${hint}.shape`);
    return this.g.op('Reshape', [value, shape], {}, `${hint}.bound`);
  }

  /** A stored value as float32. */
  widened(value: string, dtype: WeightDtype, hint: string): string {
    return dtype === 'F32' ? value : this.g.op('Cast', [value], { to: DataType.FLOAT }, `${hint}.f32`);
  }

  /** A whole checkpoint tensor as float32 (shape checked against the checkpoint). */
  tensor(name: string, shape: number[], anchor?: string): string {
    const where = this.weights.locate(name, shape);
    return this.weight(where, where.shape, 0, name, anchor);
  }

  /** y[N,out] = x[N,in]·Wᵀ (+ b) with W as stored ([out,in]). */
  linear(x: string, name: string, out: number, inDim: number, bias?: string): string {
    const inputs = [x, this.tensor(`${name}.weight`, [out, inDim], x)];
    if (bias) inputs.push(this.tensor(bias, [out]));
    return this.g.op('Gemm', inputs, { transB: 1 }, name);
  }

  /**
   * RMSNorm over the last axis (the Pow/ReduceMean/Add/Sqrt/Div/Mul pattern ORT can fuse); `zeroCentred` scales
   * by 1 + w (Qwen3NextRMSNorm), the stored weight staying bit-exact. The output value is named after the weight
   * (validator-forward finds the residual stream entering each layer by it).
   */
  rmsNorm(x: string, name: string, n: number, eps: number, zeroCentred = false): string {
    const g = this.g;
    const mean = g.op('ReduceMean', [g.op('Pow', [x, this.two])], { axes: [-1], keepdims: 1 });
    const normed = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [mean, this.scalar(eps)])])]);
    const w = this.tensor(name, [n]);
    const scale = zeroCentred ? g.op('Add', [w, this.scalar(1)], {}, `${name}.plus_one`) : w;
    return g.op('Mul', [normed, scale], {}, name);
  }

  /** A float32 scalar initializer, one per value. */
  scalar(value: number): string {
    let name = this.constants.get(value);
    if (!name) {
      name = this.g.float32s([value], []);
      this.constants.set(value, name);
    }
    return name;
  }
}
