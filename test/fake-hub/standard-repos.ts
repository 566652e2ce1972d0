/**
 * The repos the demo, the benchmark and the end-to-end tests share, built from the tiny-model fixtures. Same seed,
 * same bytes, same commits. Each repo gets its own seed offset so no two repos share weights by accident. cardData
 * comes from each README front matter (license apache-2.0, language, tags), except where a repo overrides it.
 */
import { makeTinyModel } from '../fixtures/tiny-models.js';
import { pseudoRandomBytes } from './hand-made-repo.js';
import type { FakeRepo } from './types.js';

export const QWEN2_TINY = 'tiny-org/qwen2-tiny';
export const QWEN2_SHARDED = 'tiny-org/qwen2-sharded';
export const QWEN3_TINY = 'tiny-org/qwen3-tiny';
export const QWEN2_MOE_TINY = 'tiny-org/qwen2-moe-tiny';
export const QWEN3_MOE_TINY = 'tiny-org/qwen3-moe-tiny';
export const LLAMA_TINY = 'tiny-org/llama-tiny';
export const GATED_QWEN2 = 'tiny-org/gated-qwen2';
export const PRIVATE_QWEN2 = 'tiny-org/private-qwen2';
export const UNSUPPORTED_ARCH = 'tiny-org/unsupported-arch';
export const LICENSE_OTHER = 'tiny-org/license-other';
export const HUGE_DECLARED = 'tiny-org/huge-declared';
export const QWEN2_BIN = 'tiny-org/qwen2-bin';
export const HOSTILE_PATHS = 'tiny-org/hostile-paths';
export const QWEN2_WITH_EXTRAS = 'tiny-org/qwen2-with-extras';

/** May read tiny-org/gated-qwen2 and tiny-org/private-qwen2. */
export const GRANTED_TOKEN = 'hf_granted_token_123456';
/** A valid token that was not granted anything. */
export const DENIED_TOKEN = 'hf_denied_token_123456';

/** 10 PB, as declared (not served) by tiny-org/huge-declared for model.safetensors. */
export const HUGE_DECLARED_SIZE = 10 * 1000 ** 5;
export const HOSTILE_TREE_PATHS = ['../escape.json', 'sub/../../x', '/abs', 'a\\b'];
/** Files of tiny-org/qwen2-with-extras that an import must never download. */
export const NEVER_DOWNLOAD = ['onnx/model.onnx', 'model.gguf', 'original/consolidated.00.pth', 'README.md'];

const text = (s: string) => new TextEncoder().encode(s);

export function standardRepos(seed = 1): FakeRepo[] {
  const tiny = (offset: number, options: Parameters<typeof makeTinyModel>[0] = {}) => makeTinyModel({ seed: seed + offset, ...options });
  const mamba = text(`${JSON.stringify({ architectures: ['MambaForCausalLM'], model_type: 'mamba', hidden_size: 64, num_hidden_layers: 2 }, null, 2)}\n`);
  const otherReadme = text(
    '---\nlicense: other\nlicense_name: tiny-license\nlicense_link: LICENSE\nlanguage:\n- en\npipeline_tag: text-generation\n' +
      'library_name: transformers\n---\n\n# Tiny qwen2 under a custom license\n',
  );
  return [
    { id: QWEN2_TINY, files: tiny(0, { family: 'qwen2' }) },
    { id: QWEN2_SHARDED, files: tiny(1, { family: 'qwen2', shards: 3 }) },
    { id: QWEN3_TINY, files: tiny(2, { family: 'qwen3' }) },
    { id: QWEN2_MOE_TINY, files: tiny(3, { family: 'qwen2_moe' }) },
    { id: QWEN3_MOE_TINY, files: tiny(4, { family: 'qwen3_moe' }) },
    { id: LLAMA_TINY, files: tiny(5, { family: 'llama' }) },
    { id: GATED_QWEN2, files: tiny(6, { family: 'qwen2' }), gated: 'manual', grantedTokens: [GRANTED_TOKEN] },
    { id: PRIVATE_QWEN2, files: tiny(7, { family: 'qwen2' }), private: true, grantedTokens: [GRANTED_TOKEN] },
    { id: UNSUPPORTED_ARCH, files: tiny(8, { family: 'qwen2', extraFiles: { 'config.json': mamba } }) },
    {
      id: LICENSE_OTHER,
      files: tiny(9, { family: 'qwen2', license: 'other', extraFiles: { 'README.md': otherReadme } }),
      cardData: { license: 'other', license_name: 'tiny-license', license_link: 'LICENSE' },
    },
    { id: HUGE_DECLARED, files: tiny(10, { family: 'qwen2' }), declaredSizes: { 'model.safetensors': HUGE_DECLARED_SIZE } },
    { id: QWEN2_BIN, files: tiny(11, { family: 'qwen2', weightsFormat: 'pytorch-bin' }) },
    {
      id: HOSTILE_PATHS,
      files: tiny(12, { family: 'qwen2' }),
      extraTreeEntries: HOSTILE_TREE_PATHS.map((path) => ({ path, size: 16 })),
    },
    {
      id: QWEN2_WITH_EXTRAS,
      files: {
        ...tiny(13, { family: 'qwen2' }),
        'onnx/model.onnx': pseudoRandomBytes(20_000, seed + 101),
        'model.gguf': pseudoRandomBytes(20_000, seed + 102),
        'original/consolidated.00.pth': pseudoRandomBytes(20_000, seed + 103),
      },
    },
  ];
}
