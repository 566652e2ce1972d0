/**
 * The plugin: the decoder kit's taps over the four Qwen families. Recognition and conversion are keyed by
 * config.json `architectures[0]` (and by model_type for configs without `architectures`).
 *
 * Qwen v1 (QWenLMHeadModel, remote code) is deliberately not tapped: the kernel lists every claimed architecture
 * as supported and only asks adapters that also tap convert, so a refuse-only tap would advertise v1 as
 * supported and never run. The kernel's own error ("found architecture QWenLMHeadModel; supported: ...") is the
 * answer. Supporting v1 would mean the c_attn split and tiktoken -> tokenizer.json conversion of reference §2.4.
 */
import type { ModelImportPlugin } from '../../../src/index.js';
import { defineDecoderPlugin } from '../../decoder-kit/index.js';
import { NAME } from './name.js';
import { FAMILIES } from './families/family-map.js';
import type { ArchQwenOptions } from './options.js';

export function archQwen(options: ArchQwenOptions = {}): ModelImportPlugin {
  return defineDecoderPlugin({ name: NAME, families: FAMILIES, options });
}
