/**
 * Reading config.json fields defensively. A config comes from the network: every size is checked to be a
 * positive integer within a sane bound before any arithmetic uses it, so a hostile or broken config is
 * refused at recognition instead of turning into a 10^15-element allocation later.
 */
import { ModelImportError, type ModelConfig } from '../../../../src/index.js';

/** Thrown for every look-alike or malformed config: says what was found and what is supported. */
export function refuse(architecture: string, found: string, supported: string, hint?: string): never {
  throw new ModelImportError('UNSUPPORTED_VARIANT', `${architecture}: ${found}; supported: ${supported}.`, {
    hint: hint ?? 'Pick an unmodified Hugging Face release of this model, or a plugin that supports this variant.',
    details: { architecture },
  });
}

export interface FieldReader {
  /** A required positive integer at most `max`. */
  int(key: string, max: number): number;
  /** An optional positive integer; `fallback` when absent or null. */
  optionalInt(key: string, max: number, fallback: number): number;
  /** An optional non-negative integer (0 allowed). */
  optionalCount(key: string, max: number, fallback: number): number;
  /** An optional positive finite number. */
  optionalNumber(key: string, fallback: number): number;
  optionalBool(key: string, fallback: boolean): boolean;
  /** An optional list of distinct integers in 0..limit-1 (e.g. layer indices). */
  optionalIndexList(key: string, limit: number): number[];
}

export function fieldReader(config: ModelConfig, architecture: string, supported: string): FieldReader {
  const describe = (value: unknown): string => {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
  };
  const checkInt = (key: string, value: unknown, max: number, min: number): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      refuse(architecture, `config field ${key} is ${describe(value)}, expected an integer in ${min}..${max}`, supported);
    }
    return value;
  };
  return {
    int(key, max) {
      if (config[key] === undefined || config[key] === null) {
        refuse(architecture, `config.json has no ${key}`, supported, 'The config is incomplete; download it again or fix it.');
      }
      return checkInt(key, config[key], max, 1);
    },
    optionalInt(key, max, fallback) {
      const value = config[key];
      return value === undefined || value === null ? fallback : checkInt(key, value, max, 1);
    },
    optionalCount(key, max, fallback) {
      const value = config[key];
      return value === undefined || value === null ? fallback : checkInt(key, value, max, 0);
    },
    optionalNumber(key, fallback) {
      const value = config[key];
      if (value === undefined || value === null) return fallback;
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        refuse(architecture, `config field ${key} is ${describe(value)}, expected a positive number`, supported);
      }
      return value;
    },
    optionalBool(key, fallback) {
      const value = config[key];
      if (value === undefined || value === null) return fallback;
      if (typeof value !== 'boolean') refuse(architecture, `config field ${key} is ${describe(value)}, expected true or false`, supported);
      return value;
    },
    optionalIndexList(key, limit) {
      const value = config[key];
      if (value === undefined || value === null) return [];
      const ok = Array.isArray(value) && value.length <= limit &&
        value.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < limit);
      if (!ok) refuse(architecture, `config field ${key} is ${describe(value)}, expected a list of indices below ${limit}`, supported);
      return [...new Set(value as number[])];
    },
  };
}
