/** config.json from the fetched folder, or undefined when the source did not deliver one. */
import { readFile } from 'node:fs/promises';
import { ModelImportError, safeJoin, type ModelConfig } from '../../../../src/index.js';

export async function readJsonConfig(rawDir: string): Promise<ModelConfig | undefined> {
  let text: string;
  try {
    text = await readFile(safeJoin(rawDir, 'config.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelImportError('BAD_INPUT', `config.json is not valid JSON (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelImportError('BAD_INPUT', 'config.json is not a JSON object');
  }
  return parsed as ModelConfig;
}
