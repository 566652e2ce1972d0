/**
 * Independence check: the adapter's reading of config.json (ValidationSupport.configFacts) against the
 * validator's own (reference-reading/), field by field, and the checkpoint's tensor names and shapes against the
 * ones the validator's reading implies. Any disagreement fails validation, naming the field or tensor.
 */
import {
  readSafetensorsHeader,
  safeJoin,
  type ConfigFacts,
  type ValidationReport,
  type ValidationSubject,
} from '../../../src/index.js';
import { VALIDATOR } from './name.js';
import { compareConfigFacts } from './reference-reading/compare-config-facts.js';
import { ReferenceConfigError, readReferenceConfig } from './reference-reading/reference-config.js';
import { referenceTensorNames } from './reference-reading/reference-tensor-names.js';

const CHECK = 'config reading';

/** Returns the reference's facts (for later checks), or undefined when it has no reading of this config. */
export async function checkConfigReading(subject: ValidationSubject, report: ValidationReport): Promise<ConfigFacts | undefined> {
  let reference: ConfigFacts;
  try {
    reference = readReferenceConfig(subject.config);
  } catch (error) {
    if (!(error instanceof ReferenceConfigError)) throw error;
    report.skip(VALIDATOR, CHECK, `the validator has no independent reading of this config: ${error.message}`);
    return undefined;
  }
  const adapter = subject.claim.validation?.configFacts;
  if (!adapter) {
    report.warn(VALIDATOR, CHECK, `the ${subject.claim.adapter} adapter states no config reading to compare`);
  } else {
    const disagreements = compareConfigFacts(adapter, reference);
    for (const d of disagreements) {
      report.fail(VALIDATOR, CHECK, `${d.field}: the converter read ${d.adapter}, transformers reads ${d.reference}`, { expected: d.reference, actual: d.adapter });
    }
    if (disagreements.length === 0) report.pass(VALIDATOR, CHECK, `${Object.keys(reference).length} fields agree`);
  }
  await checkTensorNames(subject, report, reference);
  return reference;
}

async function checkTensorNames(subject: ValidationSubject, report: ValidationReport, facts: ConfigFacts): Promise<void> {
  const shapes = new Map<string, number[]>();
  const roots = subject.expectedFiles.map((f) => f.path).filter((p) => p.endsWith('.safetensors') && !p.includes('/'));
  for (const file of roots) {
    try {
      const header = await readSafetensorsHeader(safeJoin(subject.modelDir, file, 'weights'));
      for (const t of header.tensors) shapes.set(t.name, t.shape);
    } catch {
      return; // unreadable files are check-safetensors' finding
    }
  }
  if (shapes.size === 0) return;
  const problems: string[] = [];
  const look = (name: string, shape: number[]): string | undefined => {
    const got = shapes.get(name);
    if (!got) return `${name} missing`;
    return got.length === shape.length && got.every((n, i) => n === shape[i]) ? undefined : `${name} is [${got.join(', ')}], expected [${shape.join(', ')}]`;
  };
  for (const t of referenceTensorNames(facts)) {
    if (t.alternatives) {
      const tried = t.alternatives.map((alt) => alt.map((a) => look(a.name, a.shape)).filter((p): p is string => p !== undefined));
      if (!tried.some((p) => p.length === 0)) problems.push(tried[0]![0]!);
      continue;
    }
    const problem = look(t.name, t.shape);
    if (problem) problems.push(problem);
  }
  if (problems.length === 0) report.pass(VALIDATOR, 'tensor names', `${shapes.size} tensors as transformers names them`);
  else report.fail(VALIDATOR, 'tensor names', `${problems.length} tensors disagree with the reference's reading of config.json: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`);
}
