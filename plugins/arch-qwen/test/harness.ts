/**
 * Runs the plugin the way the kernel does: hooks from createHooks(), recognition of config.json, then the
 * convert hook with a real Reporter, on real folders.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createHooks,
  type ArchitectureClaim,
  NonInteractivePrompter,
  Reporter,
  type ConvertResult,
  type ImportOptions,
  type ImportPlan,
  type ModelConfig,
  type ReporterEvent,
} from '../../../src/index.js';
import { archQwen, type ArchQwenOptions } from '../index.js';
import { SafetensorsReader, encodeSafetensors } from '../../../src/index.js';
import { makeTinyModel, writeRepoFiles, type TinyModelOptions } from '../../../test/fixtures/tiny-models.js';

export interface ConvertRun {
  result: ConvertResult;
  events: ReporterEvent[];
  /** The recognition claim the conversion ran under (its validation support, for validator tests). */
  claim: ArchitectureClaim;
}

export async function writeTiny(dir: string, options: TinyModelOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeRepoFiles(dir, makeTinyModel(options));
  return dir;
}

export async function convertFolder(
  rawDir: string,
  outDir: string,
  options: Partial<ImportOptions> = {},
  pluginOptions: ArchQwenOptions = { onnx: false },
): Promise<ConvertRun> {
  const hooks = createHooks();
  archQwen(pluginOptions).apply({ hooks });
  const config = JSON.parse(await readFile(path.join(rawDir, 'config.json'), 'utf8')) as ModelConfig;
  const key = config.architectures?.[0] ?? String(config.model_type);
  const claim = hooks.recognize.for(key).call(config, undefined);
  if (!claim) throw new Error(`no claim for ${key}`);
  const reporter = new Reporter();
  const events: ReporterEvent[] = [];
  reporter.subscribe((e) => events.push(e));
  const importOptions: ImportOptions = { modelsDir: path.dirname(outDir), yes: true, acceptLicense: true, skipValidation: true, ...options };
  const plan: ImportPlan = { source: 'local', resolvedBy: 'test', modelId: 'test/tiny', config, files: [], data: {}, claim, modelName: 'tiny' };
  const result = await hooks.convert.for(key).promise(
    { plan, rawDir, outDir },
    { reporter, prompter: new NonInteractivePrompter(), signal: new AbortController().signal, options: importOptions, env: {}, settings: {} },
  );
  if (!result) throw new Error('convert hook gave no result');
  return { result, events, claim };
}

/** name -> {dtype, shape, bytes} of every tensor in a folder's safetensors files. */
export async function readAllTensors(dir: string, files: string[]): Promise<Map<string, { dtype: string; shape: number[]; bytes: Uint8Array; file: string }>> {
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array; file: string }>();
  for (const file of files) {
    const reader = await SafetensorsReader.open(path.join(dir, file));
    try {
      for (const t of reader.tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes: await reader.read(t), file });
    } finally {
      await reader.close();
    }
  }
  return out;
}

/** Rewrites a safetensors file through an edit of its tensor list (to make broken or unusual checkpoints). */
export async function editSafetensors(
  file: string,
  edit: (tensors: Array<{ name: string; dtype: string; shape: number[]; data: Uint8Array }>) => Array<{ name: string; dtype: string; shape: number[]; data: Uint8Array }>,
): Promise<void> {
  const reader = await SafetensorsReader.open(file);
  const tensors = [];
  try {
    for (const t of reader.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], data: await reader.read(t) });
  } finally {
    await reader.close();
  }
  await writeFile(file, encodeSafetensors(edit(tensors), { format: 'pt' }));
}

export async function editJson(file: string, edit: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(file, JSON.stringify(value, null, 2));
}
