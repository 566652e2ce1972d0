/**
 * metadata.json: the registry entry, indented, with a "_comments" object that explains each field to a
 * human reader (JSON has no comments, so the explanations are data the tools ignore).
 */
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { ModelEntry } from './types.js';

export const METADATA_FILE = 'metadata.json';

export const FIELD_COMMENTS: Readonly<Record<string, string>> = Object.freeze({
  model_name: 'Name to use in training and inference configs; also the folder name under models/.',
  model_id: 'Original model id at the source (the Hugging Face repo id), kept even when --name was given.',
  source: 'Where the model came from: "huggingface", "local" or "huggingface-cache".',
  architecture_type: 'Architecture family from config.json model_type, e.g. "qwen2".',
  created_at: 'When the import finished (ISO 8601, UTC).',
  license: 'License as the source declares it, and when the user acknowledged it.',
  model_size: 'Number of parameters, counted from the tensor shapes (tied embeddings once).',
  file_size: 'Bytes on disk of the model folder (hard-linked files counted once).',
  path: 'Folder of the model, relative to the models folder.',
  files: 'Every file of the folder with its size and sha256; `model-import verify` re-checks them.',
  provenance: 'Exact source revision (commit sha), the architecture adapter used, and the files as downloaded with their checked sha256.',
  conversion: 'What the conversion did per component (weights, config, tokenizer, ...), with warnings.',
  validation: 'Checks run before registration (integrity, load, forward pass) with their figures; skipped is true if --skip-validation was used.',
});

export function metadataDocument(entry: ModelEntry): Record<string, unknown> {
  return { _comments: FIELD_COMMENTS, ...entry };
}

export async function writeMetadata(modelDir: string, entry: ModelEntry): Promise<void> {
  await writeFileAtomic(path.join(modelDir, METADATA_FILE), `${JSON.stringify(metadataDocument(entry), null, 2)}\n`);
}
