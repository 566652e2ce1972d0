/**
 * The ONNX decoder graph's input/output contract, which the kit's builder writes and validator-forward drives
 * (the transformers.js decoder conventions, reference/qwen-family.md §7.4). A kit-based or hand-written adapter
 * that offers `claim.validation.onnxGraph` must honour it; docs/plugins.md shows it as a table.
 *
 * Inputs (B = batch, S = new tokens, P = past length, nKV = key/value heads, D = head_dim):
 * - `input_ids`       int64 [B, S]
 * - `attention_mask`  int64 [B, P + S]   1 = real token, 0 = padding (left padding allowed)
 * - `position_ids`    int64 [B, S]       cumulative sum of the mask minus one, padded slots 1; absent when the
 *                                        graph derives it from attention_mask the same way (Qwen3.5: its
 *                                        transformers.js 4.3.1 MRoPE path would feed wrong decode positions)
 * - `past_key_values.N.key` / `past_key_values.N.value`  float32 [B, nKV, P, D] for each layer N (P may be 0)
 * Outputs:
 * - `logits`          float32 [B, S, V]
 * - `present.N.key` / `present.N.value`  float32 [B, nKV, P + S, D]: the next call's past_key_values.N.*
 *
 * Recurrent state (linear-attention layers, e.g. Gated DeltaNet) has its place beside the KV cache: such a layer
 * N has no past_key_values.N.* but `past_conv.N` / `past_recurrent.N` in and `present_conv.N` /
 * `present_recurrent.N` out, each a fixed-size state (no P axis): `past_conv.N` float32 [B, conv_dim, K] (the last K
 * conv inputs, transformers' conv state) and `past_recurrent.N` float32 [B, Hv, Dk, Dv]; every dim but B numeric so
 * transformers.js can build the all-zero first state from the input metadata (src/linear-attention/).
 *
 * Folders transformers.js loads as image-text-to-text in text-only mode (architectures[0] a
 * …ForConditionalGeneration, e.g. Qwen3.5) also get EMBED_GRAPH_PATH (input_ids -> `inputs_embeds` float32
 * [B, S, H]) and MERGED_GRAPH_PATH (the same decoder with `inputs_embeds` in place of input_ids).
 */
export const GRAPH_PATH = 'onnx/model.onnx';
export const EMBED_GRAPH_PATH = 'onnx/embed_tokens.onnx';
export const MERGED_GRAPH_PATH = 'onnx/decoder_model_merged.onnx';
export const OPSET = 17;

/** The graph's input names for layer `layer`'s key/value cache. */
export function pastKeyValueNames(layer: number): { key: string; value: string } {
  return { key: `past_key_values.${layer}.key`, value: `past_key_values.${layer}.value` };
}

/** The graph's output names for layer `layer`'s updated key/value cache. */
export function presentKeyValueNames(layer: number): { key: string; value: string } {
  return { key: `present.${layer}.key`, value: `present.${layer}.value` };
}

/** The graph's input names for Gated DeltaNet layer `layer`'s conv and recurrent state. */
export function pastStateNames(layer: number): { conv: string; recurrent: string } {
  return { conv: `past_conv.${layer}`, recurrent: `past_recurrent.${layer}` };
}

/** The graph's output names for Gated DeltaNet layer `layer`'s updated state. */
export function presentStateNames(layer: number): { conv: string; recurrent: string } {
  return { conv: `present_conv.${layer}`, recurrent: `present_recurrent.${layer}` };
}
