/**
 * The typed reader's RoPE reading (rope-parameters.ts) as the RopeSpec the kit's rotary block computes from
 * (DecoderDims.rope): one reading of rope_scaling / rope_parameters for the converter, not a second parse.
 */
import type { RopeSpec } from '../blocks/rope-spec.js';
import type { RopeReading } from './rope-parameters.js';

/** `headDim` turns rotaryDim back into partial_rotary_factor; `maxPositionEmbeddings` is dynamic's threshold. */
export function ropeSpecOf(rope: RopeReading, headDim: number, maxPositionEmbeddings: number): RopeSpec {
  const spec: RopeSpec = { theta: rope.theta, partialRotaryFactor: rope.rotaryDim / headDim };
  switch (rope.type) {
    case 'default':
      return spec;
    case 'linear':
      return { ...spec, scaling: { type: 'linear', factor: rope.factor } };
    case 'dynamic':
      return { ...spec, scaling: { type: 'dynamic', factor: rope.factor, maxPositionEmbeddings } };
    case 'llama3':
      return {
        ...spec,
        scaling: {
          type: 'llama3', factor: rope.factor, lowFreqFactor: rope.lowFreqFactor!, highFreqFactor: rope.highFreqFactor!,
          originalMaxPositionEmbeddings: rope.originalMaxPositionEmbeddings,
        },
      };
    case 'yarn':
      // The reading has already resolved attention_factor / mscale and the beta defaults.
      return {
        ...spec,
        scaling: {
          type: 'yarn', factor: rope.factor, originalMaxPositionEmbeddings: rope.originalMaxPositionEmbeddings,
          betaFast: rope.betaFast, betaSlow: rope.betaSlow, truncate: rope.truncate, attentionFactor: rope.attentionScaling,
        },
      };
  }
}
