/**
 * The graph builder behind a dynamic import: the kit's entry is imported at recognition (families), which must
 * not load protobuf and the builder. Same signatures as build-decoder-graph.ts.
 */
import type { BuildDecoderGraphOptions, BuildDecoderGraphResult } from './build-decoder-graph.js';
import type { DecoderFamily } from '../family/decoder-family.js';

export async function buildDecoderGraph(options: BuildDecoderGraphOptions): Promise<BuildDecoderGraphResult> {
  const builder = await import('./build-decoder-graph.js');
  return builder.buildDecoderGraph(options);
}

/** Reads config.json from the folder through `family`'s readDims and builds the graph (scripts and tests). */
export async function buildDecoderGraphForFolder(modelDir: string, family: DecoderFamily): Promise<BuildDecoderGraphResult> {
  const builder = await import('./build-decoder-graph.js');
  return builder.buildDecoderGraphForFolder(modelDir, family);
}
