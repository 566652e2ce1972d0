/**
 * The onnxruntime-node session options the decoder graph is designed for (measured with bench.ts on a
 * Qwen2.5-0.5B-shaped bf16 model; figures in the header of bench.ts).
 *
 * The graph already keeps ORT from materialising float32 weight copies under any option set (every weight Cast
 * hangs off its activation), so these options trim what is left rather than rescue the design:
 * - ConstantFolding off: nothing large is foldable; this keeps session creation short and guarantees no
 *   optimizer ever turns a bf16 weight into a resident float32 initializer.
 * - enableMemPattern false: a memory pattern is cached per input shape and holds one block for all
 *   intermediates of that shape; with run-time weight casts that block grows by ~80 MB per new shape.
 * - disable_prepacking: Gemm never sees a constant weight here, so prepacking could only duplicate memory.
 * - intra_op.allow_spinning off: the forward is a few hundred large kernels; idle workers that spin only steal
 *   the core the other kernels need when the machine is shared (2-4x slower forwards measured under load).
 * - graphOptimizationLevel 'all' keeps the cheap fusions (SimplifiedLayerNormalization, FusedMatMul).
 */
import type { InferenceSession } from 'onnxruntime-node';

export const defaultSessionOptions: Readonly<InferenceSession.SessionOptions> = Object.freeze({
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
  extra: {
    optimization: { disable_specified_optimizers: 'ConstantFolding' },
    session: { disable_prepacking: '1', 'intra_op.allow_spinning': '0' },
  },
});
