/** Builds onnx/model.onnx over the written safetensors (the graph builder hard-links them into onnx/). */
import type { ComponentReport, StageContext } from '../../../../src/index.js';

export async function buildOnnx(_outDir: string, _context: StageContext): Promise<ComponentReport> {
  return { component: 'onnx', status: 'missing', detail: 'ONNX graph builder not available yet', warnings: [] };
}
